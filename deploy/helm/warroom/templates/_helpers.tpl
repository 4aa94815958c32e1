{{/* Names and labels, the shared pod spec, and the rules on values. */}}

{{- define "warroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "warroom.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "warroom.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; with a component (api, worker) when given as .component. */}}
{{- define "warroom.labels" -}}
helm.sh/chart: {{ include "warroom.chart" .root }}
{{ include "warroom.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: warroom
{{- end }}

{{- define "warroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warroom.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "warroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warroom.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "warroom.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The ConfigMap holding the StatusCast monitor file, if any. */}}
{{- define "warroom.monitorsConfigMap" -}}
{{- if .Values.statuscast.existingConfigMap }}
{{- .Values.statuscast.existingConfigMap }}
{{- else if .Values.statuscast.monitors }}
{{- printf "%s-monitors" (include "warroom.fullname" .) }}
{{- end }}
{{- end }}

{{/* Variables that hold secrets (SECRET_VARIABLES of src/config.ts; deploy/helm/chart.test.ts keeps the two alike). */}}
{{- define "warroom.secretVariables" -}}
TEMPORAL_API_KEY JIRA_API_TOKEN SLACK_BOT_TOKEN SLACK_SIGNING_SECRET PAGERDUTY_API_TOKEN PAGERDUTY_ROUTING_KEY PAGERDUTY_CHANGE_ROUTING_KEY PAGERDUTY_ESCALATION_ROUTING_KEY VICTOROPS_REST_URL STATUSCAST_API_TOKEN OTEL_EXPORTER_OTLP_HEADERS OTEL_EXPORTER_OTLP_TRACES_HEADERS WARROOM_API_TOKEN PAGERDUTY_WEBHOOK_SECRET VICTOROPS_WEBHOOK_KEY VICTOROPS_WEBHOOK_TOKEN ALERTMANAGER_WEBHOOK_TOKEN GRAFANA_WEBHOOK_TOKEN
{{- end }}

{{/* Variables the chart sets itself from other values. */}}
{{- define "warroom.chartVariables" -}}
HOST PORT WARROOM_ROLE LOG_LEVEL TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_TASK_QUEUE TEMPORAL_UI_URL TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH TEMPORAL_TLS_SERVER_CA_CERT_PATH TEMPORAL_TLS_SERVER_NAME STATUSCAST_MONITORS_FILE
{{- end }}

{{/* Fails the render, naming the value, when the values break a rule warroom would refuse at start or that keeps secrets out of the chart. */}}
{{- define "warroom.validate" -}}
{{- $secrets := splitList " " (include "warroom.secretVariables" .) }}
{{- $owned := splitList " " (include "warroom.chartVariables" .) }}
{{- range $name, $value := .Values.config }}
{{- if has $name $secrets }}
{{- fail (printf "config.%s: %s is a secret; put it in the Secret named by existingSecret (or secretEnv), never in values" $name $name) }}
{{- end }}
{{- if has $name $owned }}
{{- fail (printf "config.%s: the chart sets %s itself; use the matching value (temporal.*, statuscast.*, api.port, logLevel)" $name $name) }}
{{- end }}
{{- if or (kindIs "map" $value) (kindIs "slice" $value) }}
{{- fail (printf "config.%s: expected a string (a list is comma-separated: \"a,b\")" $name) }}
{{- end }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
{{- if not (and $ref.name $ref.key) }}
{{- fail (printf "secretEnv.%s: expected { name: <Secret>, key: <key> }" $name) }}
{{- end }}
{{- end }}
{{- if and (include "warroom.monitorsConfigMap" .) (not .Values.config.STATUSCAST_URL) }}
{{- fail "statuscast: a monitor file needs config.STATUSCAST_URL (and STATUSCAST_API_TOKEN in the Secret); warroom refuses to start without them" }}
{{- end }}
{{- if not .Values.temporal.address }}
{{- fail "temporal.address: required (host:port of the Temporal frontend)" }}
{{- end }}
{{- end }}

{{/* The pod template of one role: .root is the chart's context, .component api or worker, .role its values. */}}
{{- define "warroom.podTemplate" -}}
{{- $root := .root }}
{{- $values := $root.Values }}
{{- $role := .role -}}
metadata:
  labels:
    {{- include "warroom.labels" . | nindent 4 }}
    {{- with $values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A changed setting or monitor file rolls the pods; a changed Secret does not (rollout restart).
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- if and $values.statuscast.monitors (not $values.statuscast.existingConfigMap) }}
    checksum/monitors: {{ include (print $root.Template.BasePath "/monitors-configmap.yaml") $root | sha256sum }}
    {{- end }}
    {{- with $role.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "warroom.serviceAccountName" $root }}
  # warroom calls no Kubernetes API.
  automountServiceAccountToken: false
  {{- with $values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $role.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $values.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ .component }}
      image: {{ include "warroom.image" $root }}
      imagePullPolicy: {{ $values.image.pullPolicy }}
      # node as PID 1, so SIGTERM reaches main.ts, which drains.
      command: [node, dist/main.js, --role={{ .component }}]
      securityContext:
        {{- toYaml $values.securityContext | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ include "warroom.fullname" $root }}-config
        {{- with $values.existingSecret }}
        - secretRef:
            name: {{ . }}
        {{- end }}
      {{- if or $values.temporal.apiKey.existingSecret $values.secretEnv $values.extraEnv }}
      env:
        {{- with $values.temporal.apiKey.existingSecret }}
        - name: TEMPORAL_API_KEY
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $values.temporal.apiKey.key }}
        {{- end }}
        {{- range $name, $ref := $values.secretEnv }}
        - name: {{ $name }}
          valueFrom:
            secretKeyRef:
              name: {{ $ref.name }}
              key: {{ $ref.key }}
        {{- end }}
        {{- with $values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      {{- if eq .component "api" }}
      ports:
        - name: http
          containerPort: {{ $values.api.port }}
          protocol: TCP
      startupProbe:
        httpGet: { path: /healthz, port: http }
        {{- toYaml $role.startupProbe | nindent 8 }}
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        {{- toYaml $role.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet: { path: /readyz, port: http }
        {{- toYaml $role.readinessProbe | nindent 8 }}
      {{- if $role.preStopSleepSeconds }}
      lifecycle:
        preStop:
          exec:
            command: [sleep, {{ $role.preStopSleepSeconds | quote }}]
      {{- end }}
      {{- else }}
      # The worker serves only the Temporal SDK's metrics (WARROOM_SDK_METRICS_PORT, default 9464), no probe.
      ports:
        - name: metrics
          containerPort: 9464
          protocol: TCP
      {{- end }}
      resources:
        {{- toYaml $role.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if include "warroom.monitorsConfigMap" $root }}
        - name: statuscast-monitors
          mountPath: /etc/warroom/statuscast
          readOnly: true
        {{- end }}
        {{- if $values.temporal.mtls.existingSecret }}
        - name: temporal-mtls
          mountPath: /etc/warroom/temporal-mtls
          readOnly: true
        {{- end }}
        {{- if $values.temporal.serverCA.existingSecret }}
        - name: temporal-ca
          mountPath: /etc/warroom/temporal-ca
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with include "warroom.monitorsConfigMap" $root }}
    - name: statuscast-monitors
      configMap:
        name: {{ . }}
        items:
          - key: {{ $values.statuscast.key }}
            path: monitors.yaml
    {{- end }}
    {{- with $values.temporal.mtls.existingSecret }}
    - name: temporal-mtls
      secret:
        secretName: {{ . }}
        # 0440: readable by the pod's group (fsGroup) only.
        defaultMode: 288
        items:
          - key: {{ $values.temporal.mtls.certKey }}
            path: tls.crt
          - key: {{ $values.temporal.mtls.keyKey }}
            path: tls.key
    {{- end }}
    {{- with $values.temporal.serverCA.existingSecret }}
    - name: temporal-ca
      secret:
        secretName: {{ . }}
        defaultMode: 288
        items:
          - key: {{ $values.temporal.serverCA.key }}
            path: ca.crt
    {{- end }}
  {{- with $role.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $role.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $role.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    {{- if $role.topologySpreadConstraints }}
    {{- toYaml $role.topologySpreadConstraints | nindent 4 }}
    {{- else }}
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "warroom.selectorLabels" . | nindent 10 }}
    {{- end }}
{{- end }}
