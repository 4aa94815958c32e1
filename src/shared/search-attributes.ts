import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes that let operators filter incident runs in the Temporal UI. */
export const keyKey = defineSearchAttributeKey('IncidentKey', SearchAttributeType.KEYWORD);
export const sourceKey = defineSearchAttributeKey('IncidentSource', SearchAttributeType.KEYWORD);
export const statusKey = defineSearchAttributeKey('IncidentStatus', SearchAttributeType.KEYWORD);
export const severityKey = defineSearchAttributeKey('IncidentSeverity', SearchAttributeType.KEYWORD);

export const INCIDENT_SEARCH_ATTRIBUTES = [keyKey, sourceKey, statusKey, severityKey] as const;
