/**
 * The task workflow's definition, loaded from the one ASL file that both CDK and the local runner
 * use. `${Name}` placeholders are the Lambda ARNs; CDK fills them with definitionSubstitutions, the
 * local runner with names its in-process handlers answer to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFINITION_FILE = join(import.meta.dirname, 'task-workflow.asl.json');

/** The placeholders the definition expects, each naming the workflow handler behind it. */
export const SUBSTITUTIONS = {
  PrepareFunctionArn: 'prepare',
  RecordFunctionArn: 'record',
  FinalizeFunctionArn: 'finalize',
  RecordFailureFunctionArn: 'recordFailure',
} as const;

export type SubstitutionName = keyof typeof SUBSTITUTIONS;

export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown> & { Type: string }>;
}

/** The definition with every placeholder replaced; throws if one is missing or unknown. */
export function loadDefinition(values: Readonly<Record<SubstitutionName, string>>): AslDefinition {
  const text = readFileSync(DEFINITION_FILE, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = (values as Record<string, string | undefined>)[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}}`);
    return value;
  });
  return JSON.parse(text) as AslDefinition;
}
