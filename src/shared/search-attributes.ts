import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes that let operators filter incident runs in the Temporal UI. */
export const keyKey = defineSearchAttributeKey('IncidentKey', SearchAttributeType.KEYWORD);
export const sourceKey = defineSearchAttributeKey('IncidentSource', SearchAttributeType.KEYWORD);
export const statusKey = defineSearchAttributeKey('IncidentStatus', SearchAttributeType.KEYWORD);
export const severityKey = defineSearchAttributeKey('IncidentSeverity', SearchAttributeType.KEYWORD);
/** The Slack channel id of the incident's room: `/incident` typed in a room finds its incident by it. */
export const channelKey = defineSearchAttributeKey('IncidentChannel', SearchAttributeType.KEYWORD);

export const INCIDENT_SEARCH_ATTRIBUTES = [keyKey, sourceKey, statusKey, severityKey, channelKey] as const;
