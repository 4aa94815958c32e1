/** Jira: the credentials work, the project and issue type exist, the account may create, comment on, attach to and transition issues. */
import { isNotFoundError } from 'jira.js';
import { createJiraClient, jiraFailure, type JiraClient, type JiraSettings } from '../activities/jira.js';
import type { Config } from '../config.js';
import { fail, notConfiguredGroup, ok, type CheckGroup, type DoctorOptions, type Finding } from './check.js';

/** The project permissions warroom's Jira steps use (search, create, comment, attach, transition), in Jira's words. */
const PERMISSIONS: Record<string, string> = {
  BROWSE_PROJECTS: 'browse the project (find tickets again)',
  CREATE_ISSUES: 'create issues',
  ADD_COMMENTS: 'comment on issues',
  // A postmortem over Jira's comment limit goes on the ticket as a file.
  CREATE_ATTACHMENTS: 'attach files to issues (a long postmortem)',
  TRANSITION_ISSUES: 'transition issues',
};

type Project = Awaited<ReturnType<JiraClient['projects']['getProject']>>;

export function jiraChecks(config: Config, options: DoctorOptions): CheckGroup {
  const settings = config.jira;
  if (!settings) return notConfiguredGroup('Jira', 'JIRA_HOST, JIRA_EMAIL and JIRA_API_TOKEN');
  const jira = createJiraClient(settings, { timeoutMs: options.timeoutMs });
  let project: Project | undefined;

  return {
    name: 'Jira',
    where: settings.host,
    checks: [
      {
        name: 'credentials',
        async run() {
          const me = await jira.myself.getCurrentUser().catch((err: unknown) => Promise.reject(jiraFailure('GET /myself', err, settings)));
          return ok(`signed in as ${me.displayName ?? me.accountId ?? settings.email}`);
        },
      },
      {
        name: 'project',
        needs: 'credentials',
        async run() {
          const found = await findProject(jira, settings);
          if ('finding' in found) return found.finding;
          project = found.project;
          return ok(`${settings.projectKey} (${project.name ?? 'no name'})`);
        },
      },
      { name: 'issue type', needs: 'project', run: async () => issueTypeFinding(project, settings) },
      { name: 'permissions', needs: 'project', run: () => permissionsFinding(jira, settings) },
    ],
  };
}

async function findProject(jira: JiraClient, settings: JiraSettings): Promise<{ project: Project } | { finding: Finding }> {
  try {
    return { project: await jira.projects.getProject({ projectIdOrKey: settings.projectKey }) };
  } catch (err) {
    // Jira answers 404 alike for a project that does not exist and one the account may not see.
    if (!isNotFoundError(err)) throw jiraFailure(`GET /project/${settings.projectKey}`, err, settings);
    return {
      finding: fail(
        `no project ${settings.projectKey}, or ${settings.email} may not see it`,
        "set JIRA_PROJECT_KEY to an existing project's key, or give the account Browse Projects there",
      ),
    };
  }
}

/** The account holds every project permission warroom's steps use (GET /mypermissions). */
async function permissionsFinding(jira: JiraClient, settings: JiraSettings): Promise<Finding> {
  const keys = Object.keys(PERMISSIONS);
  let answer: Awaited<ReturnType<JiraClient['permissions']['getMyPermissions']>>;
  try {
    answer = await jira.permissions.getMyPermissions({ projectKey: settings.projectKey, permissions: keys.join(',') });
  } catch (err) {
    throw jiraFailure('GET /mypermissions', err, settings);
  }
  const missing = keys.filter((key) => answer.permissions?.[key]?.havePermission !== true);
  if (missing.length === 0) return ok(`${settings.email} may browse, create, comment on, attach files to and transition issues`);
  return fail(
    `${settings.email} may not ${missing.map((key) => PERMISSIONS[key]).join(', ')} in ${settings.projectKey}`,
    "grant them in the project's permission scheme (Project settings → Permissions)",
  );
}

/** JIRA_ISSUE_TYPE is one of the project's issue types (create names it so). */
function issueTypeFinding(project: Project | undefined, settings: JiraSettings): Finding {
  const names = (project?.issueTypes ?? []).map((type) => type.name).filter((name): name is string => Boolean(name));
  if (names.includes(settings.issueType)) return ok(`${settings.issueType} exists in ${settings.projectKey}`);
  return fail(
    `${settings.projectKey} has no issue type ${settings.issueType} (it has ${names.join(', ') || 'none'})`,
    'set JIRA_ISSUE_TYPE to one of them',
  );
}
