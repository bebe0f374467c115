/**
 * Offline checks for the SFDX project in salesforce/. No org is reachable from here, so these stand
 * in for what a deploy would catch (XML, conversion, Apex syntax) and for what it would not
 * (field names and types agreeing with src/core/account-fields.ts, loop prevention, secrets).
 *
 * Every check takes the project root (the folder holding sfdx-project.json) and returns a list of
 * problems, empty when all is well, so the same function serves the real test and the negative test
 * that runs it on a deliberately broken copy.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';
import { ComponentSet, MetadataConverter } from '@salesforce/source-deploy-retrieve';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AccountField, FieldType } from '../../src/core/account-fields.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const SALESFORCE_ROOT = resolve(HERE, '../../salesforce');
export const MODELS_DIR = resolve(HERE, '../../models');
const METADATA_NS = 'http://soap.sforce.com/2006/04/metadata';
const DEFAULT = 'force-app/main/default';

export const paths = {
  fields: `${DEFAULT}/objects/Account/fields`,
  classes: `${DEFAULT}/classes`,
  flow: `${DEFAULT}/flows/Churn_Account_Changed.flow-meta.xml`,
  workflow: `${DEFAULT}/workflows/Account.workflow-meta.xml`,
  permissionSets: `${DEFAULT}/permissionsets`,
  workerPermissionSet: `${DEFAULT}/permissionsets/Churn_Worker_Integration.permissionset-meta.xml`,
  refreshPermissionSet: `${DEFAULT}/permissionsets/Churn_Score_Refresh_User.permissionset-meta.xml`,
  connectedApp: 'connected-app/main/default/connectedApps/Churn_Worker.connectedApp-meta.xml',
} as const;

/** A copy of the project in a temp folder, for negative tests to break. */
export function copyProject(root = SALESFORCE_ROOT): string {
  const dir = mkdtempSync(join(tmpdir(), 'sf-metadata-'));
  cpSync(root, dir, { recursive: true });
  return dir;
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === '.sf' || entry === '.sfdx') continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out.sort();
}

const read = (root: string, rel: string) => readFileSync(join(root, rel), 'utf8');

// ---------------------------------------------------------------------------------------------
// 1. Well-formed XML

/** Every *.xml file is well-formed, and every *-meta.xml file's root element is in the Metadata API namespace. */
export function checkWellFormedXml(root: string): string[] {
  const problems: string[] = [];
  for (const file of listFiles(root).filter((f) => f.endsWith('.xml'))) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const result = XMLValidator.validate(text);
    if (result !== true) {
      problems.push(`${rel}:${result.err.line}:${result.err.col} ${result.err.code}: ${result.err.msg}`);
      continue;
    }
    if (file.endsWith('-meta.xml') && !new RegExp(`^(<\\?xml[^>]*>\\s*)?(<!--[\\s\\S]*?-->\\s*)*<\\w+\\s+xmlns="${METADATA_NS}"`).test(text)) {
      problems.push(`${rel}: the root element does not declare xmlns="${METADATA_NS}"`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 2. Conversion to Metadata API format

export interface ConversionResult {
  problems: string[];
  /** "Type:fullName" of every component found in the source. */
  components: string[];
  /** Folder holding package.xml and the converted files, when the conversion succeeded. */
  packagePath?: string;
  /**
   * The temporary folder the conversion wrote into, whatever the outcome: the caller removes it. (A
   * failed conversion can still be writing files after it rejected, so removing it here is not enough.)
   */
  workDir?: string;
}

/**
 * Converts the given package directories to Metadata API format the way `sf project deploy start`
 * does before it zips them, including the sfdx-project.json string replacements (taken from env).
 */
export async function convertProject(
  root: string,
  packageDirs: readonly string[],
  env: Record<string, string | undefined>,
): Promise<ConversionResult> {
  const saved = new Map<string, string | undefined>();
  const vars = { ...env, SF_APPLY_REPLACEMENTS_ON_CONVERT: 'true' };
  for (const [key, value] of Object.entries(vars)) {
    saved.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  let outputDirectory: string | undefined;
  try {
    const set = ComponentSet.fromSource(packageDirs.map((d) => join(root, d)));
    set.projectDirectory = root;
    const components = [...set].map((c) => `${c.type.name}:${c.fullName}`).sort();
    outputDirectory = mkdtempSync(join(tmpdir(), 'sf-convert-'));
    const result = await new MetadataConverter().convert(set, 'metadata', { type: 'directory', outputDirectory });
    const packagePath = result.packagePath;
    if (!packagePath || !existsSync(join(packagePath, 'package.xml'))) {
      return { problems: ['the conversion wrote no package.xml'], components, workDir: outputDirectory };
    }
    return { problems: [], components, packagePath, workDir: outputDirectory };
  } catch (error) {
    if (outputDirectory) rmSync(outputDirectory, { recursive: true, force: true });
    return { problems: [`conversion failed: ${(error as Error).message}`], components: [], workDir: outputDirectory };
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Components that must be in the set, and nothing unexpected besides. */
export function checkComponents(components: readonly string[], expected: readonly string[]): string[] {
  const have = new Set(components);
  const want = new Set(expected);
  return [
    ...expected.filter((c) => !have.has(c)).map((c) => `missing component ${c}`),
    ...components.filter((c) => !want.has(c)).map((c) => `unexpected component ${c}`),
  ];
}

// ---------------------------------------------------------------------------------------------
// 3. Apex syntax

class CollectingListener extends ApexErrorListener {
  readonly errors: string[] = [];
  apexSyntaxError(line: number, column: number, msg: string): void {
    this.errors.push(`${line}:${column} ${msg}`);
  }
}

export function apexSyntaxErrors(source: string): string[] {
  const listener = new CollectingListener();
  const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
  parser.compilationUnit();
  return listener.errors;
}

/** Every .cls/.trigger parses with no syntax error and has a -meta.xml with an apiVersion. */
export function checkApex(root: string): string[] {
  const problems: string[] = [];
  const files = listFiles(root).filter((f) => f.endsWith('.cls') || f.endsWith('.trigger'));
  if (files.length === 0) problems.push('no Apex files found');
  for (const file of files) {
    const rel = relative(root, file);
    for (const error of apexSyntaxErrors(readFileSync(file, 'utf8'))) problems.push(`${rel}:${error}`);
    const meta = `${file}-meta.xml`;
    if (!existsSync(meta)) {
      problems.push(`${rel}: no ${relative(root, meta)}`);
    } else if (!/<apiVersion>\d{2,3}\.0<\/apiVersion>/.test(readFileSync(meta, 'utf8'))) {
      problems.push(`${relative(root, meta)}: no apiVersion`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 4. Fields: the files, the spec in account-fields.ts, and every reference to them

const xml = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) =>
    ['value', 'fields', 'fieldPermissions', 'outboundMessages', 'actionCalls', 'customPermissions', 'userPermissions', 'objectPermissions', 'decisions', 'rules', 'conditions'].includes(name),
});

export interface FieldFile {
  name: string;
  type: string;
  label?: string;
  length?: number;
  precision?: number;
  scale?: number;
  externalId: boolean;
  unique: boolean;
  defaultValue?: string;
  restricted: boolean;
  values: string[];
  description?: string;
  inlineHelpText?: string;
  /** Field history tracking (Account's history related list shows its changes). */
  trackHistory: boolean;
}

/** Reads objects/Account/fields/*.field-meta.xml. */
export function loadFieldFiles(root: string): Map<string, FieldFile> {
  const dir = join(root, paths.fields);
  const fields = new Map<string, FieldFile>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.field-meta.xml'))) {
    const doc = xml.parse(readFileSync(join(dir, file), 'utf8')).CustomField ?? {};
    const name = file.replace(/\.field-meta\.xml$/, '');
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    fields.set(name, {
      name,
      type: String(doc.type ?? ''),
      label: doc.label,
      length: num(doc.length),
      precision: num(doc.precision),
      scale: num(doc.scale),
      externalId: doc.externalId === 'true',
      unique: doc.unique === 'true',
      defaultValue: doc.defaultValue,
      restricted: doc.valueSet?.restricted === 'true',
      values: (doc.valueSet?.valueSetDefinition?.value ?? []).map((v: { fullName: string }) => String(v.fullName)),
      description: doc.description,
      inlineHelpText: doc.inlineHelpText,
      trackHistory: doc.trackHistory === 'true',
    });
  }
  return fields;
}

/** Metadata API field type for each FieldType of account-fields.ts. */
export const METADATA_TYPE: Record<Exclude<FieldType, 'id'>, string> = {
  text: 'Text',
  checkbox: 'Checkbox',
  number: 'Number',
  currency: 'Currency',
  percent: 'Percent',
  picklist: 'Picklist',
  datetime: 'DateTime',
};

/** Every field of the spec has a file of the matching type, size and values, and no file is extra. */
export function checkFieldsMatchSpec(files: Map<string, FieldFile>, spec: readonly AccountField[]): string[] {
  const problems: string[] = [];
  for (const field of spec) {
    if (field.type === 'id') continue; // standard Id, not a custom field
    const file = files.get(field.name);
    const where = `${field.name}.field-meta.xml`;
    if (!file) {
      problems.push(`${field.name}: no ${paths.fields}/${where}`);
      continue;
    }
    const expect = (what: string, actual: unknown, wanted: unknown) => {
      if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
        problems.push(`${where}: ${what} is ${JSON.stringify(actual)}, account-fields.ts says ${JSON.stringify(wanted)}`);
      }
    };
    expect('type', file.type, METADATA_TYPE[field.type]);
    expect('label', file.label, field.label);
    if (!file.description) problems.push(`${where}: no description`);
    if (!file.inlineHelpText) problems.push(`${where}: no inlineHelpText`);
    switch (field.type) {
      case 'text':
        expect('length', file.length, field.length);
        break;
      case 'number':
      case 'currency':
      case 'percent':
        expect('precision', file.precision, field.precision);
        expect('scale', file.scale, field.scale);
        break;
      case 'checkbox':
        expect('defaultValue', file.defaultValue, 'false');
        break;
      case 'picklist':
        expect('picklist values', file.values, field.values);
        expect('restricted', file.restricted, true);
        break;
      default:
        break;
    }
    expect('externalId', file.externalId, field.externalId === true);
    if (field.externalId) expect('unique', file.unique, true);
  }
  const known = new Set(spec.map((f) => f.name));
  for (const name of files.keys()) {
    if (!known.has(name)) problems.push(`${name}.field-meta.xml: not in src/core/account-fields.ts`);
  }
  return problems;
}

const FIELD_TOKEN = /\b([A-Za-z][A-Za-z0-9_]*__c)\b/g;

function stripApexComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** Apex type of the value a field of the given metadata type holds. */
const APEX_TYPE: Record<string, string> = {
  Text: 'String',
  Picklist: 'String',
  Checkbox: 'Boolean',
  Number: 'Decimal',
  Currency: 'Decimal',
  Percent: 'Decimal',
  DateTime: 'Datetime',
};

/**
 * The type of an assigned Apex expression, where it can be told without compiling: a literal, or a
 * variable or member whose declaration is in the same file. Undefined when it cannot be told.
 */
function apexExpressionType(expr: string, declarations: Map<string, string>): { type: string; literal?: string } | undefined {
  const e = expr.trim();
  if (/^'(?:[^'\\]|\\.)*'$/.test(e)) return { type: 'String', literal: e.slice(1, -1) };
  if (/^(true|false)$/i.test(e)) return { type: 'Boolean' };
  if (/^-?\d+(\.\d+)?$/.test(e)) return { type: 'Decimal' };
  if (/^null$/i.test(e)) return undefined;
  const member = /^(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)$/.exec(e);
  const declared = member ? declarations.get(member[1]!) : undefined;
  return declared ? { type: declared } : undefined;
}

const NUMERIC_APEX = new Set(['Decimal', 'Integer', 'Long', 'Double']);

function apexTypesCompatible(valueType: string, fieldApexType: string): boolean {
  if (valueType === fieldApexType) return true;
  return NUMERIC_APEX.has(valueType) && fieldApexType === 'Decimal';
}

export interface FieldUse {
  /** project-relative file */
  source: string;
  field: string;
  detail?: string;
}

/** Field checks for the Apex classes: every __c name exists; every `Field__c = value` assignment has a compatible value. */
export function checkApexFieldReferences(root: string, files: Map<string, FieldFile>): string[] {
  const problems: string[] = [];
  for (const file of listFiles(join(root, paths.classes)).filter((f) => f.endsWith('.cls'))) {
    const rel = relative(root, file);
    const code = stripApexComments(readFileSync(file, 'utf8'));
    for (const [, field] of code.matchAll(FIELD_TOKEN)) {
      if (!files.has(field!)) problems.push(`${rel}: references ${field}, which has no field file`);
    }
    const declarations = new Map<string, string>();
    for (const [, type, name] of code.matchAll(/\b(String|Boolean|Decimal|Integer|Long|Double|Datetime|Date|Id)\s+([A-Za-z_]\w*)\s*[;=,)]/g)) {
      declarations.set(name!, type!);
    }
    for (const [, field, expr] of code.matchAll(/\b([A-Za-z][A-Za-z0-9_]*__c)\s*=(?!=)\s*([^,;\n)]+)/g)) {
      const meta = files.get(field!);
      if (!meta) continue;
      const fieldApexType = APEX_TYPE[meta.type];
      const value = apexExpressionType(expr!, declarations);
      if (!fieldApexType || !value) continue;
      if (!apexTypesCompatible(value.type, fieldApexType)) {
        problems.push(`${rel}: assigns a ${value.type} (${expr!.trim()}) to ${field}, a ${meta.type} field`);
      } else if (meta.type === 'Picklist' && value.literal !== undefined && meta.restricted && !meta.values.includes(value.literal)) {
        problems.push(`${rel}: assigns '${value.literal}' to ${field}, which is not one of its picklist values`);
      }
    }
  }
  return problems;
}

/** The list ChurnScoreRefresh sends to the API, read from its INPUT_FIELDS constant. */
export function apexInputFieldList(root: string): string[] {
  const code = stripApexComments(read(root, `${paths.classes}/ChurnScoreRefresh.cls`));
  const block = /INPUT_FIELDS\s*=\s*new\s+List<String>\s*\{([\s\S]*?)\}/.exec(code);
  return block ? [...block[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!) : [];
}

/** Fields selected by the SOQL query of ChurnScoreRefresh. */
export function apexSelectedFields(root: string): string[] {
  const code = stripApexComments(read(root, `${paths.classes}/ChurnScoreRefresh.cls`));
  const query = /\[\s*SELECT([\s\S]*?)FROM\s+Account\b([\s\S]*?)\]/i.exec(code);
  if (!query) return [];
  if (!/WITH\s+USER_MODE/i.test(query[2]!)) return ['<query does not use WITH USER_MODE>'];
  return query[1]!.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Checks the Apex action against the spec: it sends exactly the input fields, in order, and queries them in user mode. */
export function checkApexAgainstSpec(root: string, spec: readonly AccountField[]): string[] {
  const problems: string[] = [];
  const inputs = spec.filter((f) => f.role === 'input').map((f) => f.name);
  const listed = apexInputFieldList(root);
  if (JSON.stringify(listed) !== JSON.stringify(inputs)) {
    problems.push(`ChurnScoreRefresh.INPUT_FIELDS is ${JSON.stringify(listed)}; account-fields.ts input fields are ${JSON.stringify(inputs)}`);
  }
  const selected = apexSelectedFields(root);
  if (selected.includes('<query does not use WITH USER_MODE>')) problems.push('ChurnScoreRefresh: the Account query does not use WITH USER_MODE');
  for (const field of inputs) {
    if (!selected.includes(field)) problems.push(`ChurnScoreRefresh: the Account query does not select ${field}`);
  }
  const code = stripApexComments(read(root, `${paths.classes}/ChurnScoreRefresh.cls`));
  if (!/AccessLevel\.USER_MODE|update\s+as\s+user/.test(code)) problems.push('ChurnScoreRefresh: the update does not run in user mode');
  if (!/public\s+with\s+sharing\s+class\s+ChurnScoreRefresh\b/.test(code)) problems.push('ChurnScoreRefresh: not declared "public with sharing"');
  return problems;
}

/** Outbound message: Id plus exactly the input fields, no session id, and the fields exist. */
export function checkOutboundMessage(root: string, files: Map<string, FieldFile>, spec: readonly AccountField[]): string[] {
  const problems: string[] = [];
  const doc = xml.parse(read(root, paths.workflow)).Workflow ?? {};
  const message = (doc.outboundMessages ?? []).find((m: { fullName?: string }) => m.fullName === 'Churn_Account_Changed');
  if (!message) return [`${paths.workflow}: no outbound message Churn_Account_Changed`];
  const fields: string[] = (message.fields ?? []).map(String);
  const inputs = spec.filter((f) => f.role === 'input').map((f) => f.name);
  for (const field of fields) {
    if (field === 'Id') continue;
    if (!files.has(field)) problems.push(`${paths.workflow}: sends ${field}, which has no field file`);
    else if (!inputs.includes(field)) problems.push(`${paths.workflow}: sends ${field}, which is not a model input`);
  }
  if (!fields.includes('Id')) problems.push(`${paths.workflow}: does not send Id`);
  for (const field of inputs) {
    if (!fields.includes(field)) problems.push(`${paths.workflow}: does not send input field ${field}`);
  }
  if (message.includeSessionId !== 'false') problems.push(`${paths.workflow}: includeSessionId must be false`);
  if (message.protected !== 'false') problems.push(`${paths.workflow}: protected must be false`);
  if (!message.apiVersion) problems.push(`${paths.workflow}: no apiVersion`);
  if (!message.integrationUser) problems.push(`${paths.workflow}: no integrationUser`);
  const endpoint = String(message.endpointUrl ?? '');
  if (!/^https:\/\//.test(endpoint)) problems.push(`${paths.workflow}: endpointUrl must be https`);
  // The receiver refuses messages without its shared secret; the URL must carry it (as a placeholder).
  if (!/\?token=REPLACE_WITH_OUTBOUND_SECRET$/.test(endpoint)) problems.push(`${paths.workflow}: endpointUrl must end with ?token=REPLACE_WITH_OUTBOUND_SECRET (replaced from CHURN_OUTBOUND_SECRET at deploy)`);
  return problems;
}

/** Functions the entry formula may use: the documented ones (docs/salesforce-setup.md, "The loop-prevention rule"). */
const DOCUMENTED_ENTRY_FUNCTIONS = new Set(['AND', 'OR', 'NOT', 'ISNEW', 'ISCHANGED']);

/** What the flow does, read from its metadata: the entry formula's fields and the decision that ends it. */
export interface FlowRule {
  /** Fields whose ISCHANGED lets a change through the entry formula. */
  changedFields: string[];
  /** Whether a new Account passes the entry formula (ISNEW()). */
  onCreate: boolean;
  /** Custom permissions whose holders' changes end the flow before the outbound message. */
  skippedPermissions: string[];
}

export function readFlowRule(root: string): FlowRule {
  const flow = xml.parse(read(root, paths.flow)).Flow ?? {};
  const formula = String(flow.start?.filterFormula ?? '');
  const decisions = ([] as Array<Record<string, unknown>>).concat(flow.decisions ?? []);
  const skippedPermissions: string[] = [];
  for (const decision of decisions) {
    for (const rule of ([] as Array<Record<string, unknown>>).concat((decision.rules as never) ?? [])) {
      if (rule.connector) continue; // a rule that leads somewhere does not end the flow
      const conditions = ([] as Array<Record<string, unknown>>).concat((rule.conditions as never) ?? []);
      for (const c of conditions) {
        const m = /^\$Permission\.(\w+)$/.exec(String(c.leftValueReference ?? ''));
        const value = (c.rightValue as { booleanValue?: string } | undefined)?.booleanValue;
        if (m && c.operator === 'EqualTo' && value === 'true' && conditions.length === 1) skippedPermissions.push(m[1]!);
      }
    }
  }
  return {
    changedFields: [...formula.matchAll(/ISCHANGED\s*\(\s*\{!\$Record\.([A-Za-z0-9_]+)\}\s*\)/g)].map((m) => m[1]!),
    onCreate: /ISNEW\s*\(\s*\)/.test(formula),
    skippedPermissions,
  };
}

/**
 * The flow's loop prevention: after-save on create and update; the entry formula uses only documented
 * functions and $Record (no $Permission there, where it is not documented), fires on new Accounts and
 * on a change of any input field, never on output fields; a decision then ends the flow for holders
 * of Churn_Integration_User; otherwise it sends the outbound message that exists.
 */
export function checkFlow(root: string, files: Map<string, FieldFile>, spec: readonly AccountField[]): string[] {
  const problems: string[] = [];
  const where = paths.flow;
  const flow = xml.parse(read(root, where)).Flow ?? {};
  const start = flow.start ?? {};
  if (start.object !== 'Account') problems.push(`${where}: start.object is not Account`);
  if (start.triggerType !== 'RecordAfterSave') problems.push(`${where}: triggerType is not RecordAfterSave`);
  if (start.recordTriggerType !== 'CreateAndUpdate') problems.push(`${where}: recordTriggerType is not CreateAndUpdate`);
  const formula = String(start.filterFormula ?? '');
  for (const [, fn] of formula.matchAll(/\b([A-Za-z_]+)\s*\(/g)) {
    if (!DOCUMENTED_ENTRY_FUNCTIONS.has(fn!.toUpperCase())) problems.push(`${where}: the entry formula uses ${fn}(), not one of the functions the setup guide cites documentation for (AND, OR, NOT, ISNEW, ISCHANGED)`);
  }
  for (const [, global] of formula.matchAll(/\{!(\$\w+)/g)) {
    if (global !== '$Record') problems.push(`${where}: the entry formula uses ${global}, which is not documented in entry formulas (check it in a decision)`);
  }
  const rule = readFlowRule(root);
  if (!rule.onCreate) problems.push(`${where}: the entry formula does not fire for new Accounts (ISNEW())`);
  const inputs = spec.filter((f) => f.role === 'input').map((f) => f.name);
  for (const field of inputs) {
    if (!rule.changedFields.includes(field)) problems.push(`${where}: the entry formula does not check ISCHANGED of input field ${field}`);
  }
  for (const [, field] of formula.matchAll(/\$Record\.([A-Za-z0-9_]+__c)/g)) {
    if (!files.has(field!)) problems.push(`${where}: references ${field}, which has no field file`);
    else if (!inputs.includes(field!)) problems.push(`${where}: the entry formula reacts to ${field}, which is not a model input (loop risk)`);
  }
  if (!rule.skippedPermissions.includes('Churn_Integration_User')) {
    problems.push(`${where}: no decision ends the flow for users with $Permission.Churn_Integration_User`);
  }
  const decisions = ([] as Array<Record<string, unknown>>).concat(flow.decisions ?? []);
  const gate = decisions.find((d) => JSON.stringify(d.rules ?? '').includes('$Permission.Churn_Integration_User'));
  if (gate && start.connector?.targetReference !== gate.name) problems.push(`${where}: the start does not lead to the ${String(gate.name)} decision, so the permission is not checked first`);
  const action = (flow.actionCalls ?? []).find((a: { actionType?: string }) => a.actionType === 'outboundMessage');
  if (!action) problems.push(`${where}: no actionCalls with actionType outboundMessage`);
  else {
    if (action.actionName !== 'Account.Churn_Account_Changed') problems.push(`${where}: the outbound message action is ${action.actionName}, not Account.Churn_Account_Changed`);
    if (gate && (gate.defaultConnector as { targetReference?: string } | undefined)?.targetReference !== action.name) {
      problems.push(`${where}: the ${String(gate.name)} decision does not lead to the outbound message for other users`);
    }
  }
  const customPermission = join(root, DEFAULT, 'customPermissions/Churn_Integration_User.customPermission-meta.xml');
  if (!existsSync(customPermission)) problems.push(`${where}: uses $Permission.Churn_Integration_User, but the custom permission has no file`);
  return problems;
}

/**
 * Permission sets: every field exists; the worker may edit outputs only and holds the custom
 * permission and ApiEnabled; the refresh user may read inputs and edit outputs; nobody can edit an
 * input through these sets.
 */
export function checkPermissionSets(root: string, files: Map<string, FieldFile>, spec: readonly AccountField[]): string[] {
  const problems: string[] = [];
  const role = new Map(spec.map((f) => [f.name, f.role]));
  const sets = listFiles(join(root, paths.permissionSets)).filter((f) => f.endsWith('.permissionset-meta.xml'));
  for (const file of sets) {
    const rel = relative(root, file);
    const doc = xml.parse(readFileSync(file, 'utf8')).PermissionSet ?? {};
    for (const permission of doc.fieldPermissions ?? []) {
      const [object, field] = String(permission.field).split('.');
      if (object !== 'Account') continue;
      if (!files.has(field!)) {
        problems.push(`${rel}: grants access to Account.${field}, which has no field file`);
        continue;
      }
      if (permission.editable === 'true' && role.get(field!) !== 'output') {
        problems.push(`${rel}: grants edit on Account.${field}, which is not an output field`);
      }
      if (permission.readable !== 'true') problems.push(`${rel}: Account.${field} is not readable`);
    }
  }
  const granted = (rel: string) => {
    const doc = xml.parse(read(root, rel)).PermissionSet ?? {};
    const fields = new Map<string, { readable: boolean; editable: boolean }>();
    for (const p of doc.fieldPermissions ?? []) {
      fields.set(String(p.field).replace(/^Account\./, ''), { readable: p.readable === 'true', editable: p.editable === 'true' });
    }
    return { doc, fields };
  };
  const outputs = spec.filter((f) => f.role === 'output').map((f) => f.name);
  const inputs = spec.filter((f) => f.role === 'input').map((f) => f.name);
  for (const rel of [paths.workerPermissionSet, paths.refreshPermissionSet]) {
    if (!existsSync(join(root, rel))) {
      problems.push(`${rel}: missing`);
      continue;
    }
    const { fields } = granted(rel);
    for (const f of inputs) if (!fields.get(f)?.readable) problems.push(`${rel}: no read on input field ${f}`);
    for (const f of outputs) if (!fields.get(f)?.editable) problems.push(`${rel}: no edit on output field ${f}`);
  }
  if (existsSync(join(root, paths.workerPermissionSet))) {
    const { doc } = granted(paths.workerPermissionSet);
    const userPermissions = (doc.userPermissions ?? []).filter((p: { enabled: string }) => p.enabled === 'true').map((p: { name: string }) => p.name);
    if (!userPermissions.includes('ApiEnabled')) problems.push(`${paths.workerPermissionSet}: no ApiEnabled user permission`);
    // The REST Limits resource is "available … for API users with the View Setup and Configuration permission".
    if (!userPermissions.includes('ViewSetup')) problems.push(`${paths.workerPermissionSet}: no ViewSetup user permission (/limits needs View Setup and Configuration)`);
    const custom = (doc.customPermissions ?? []).filter((p: { enabled: string }) => p.enabled === 'true').map((p: { name: string }) => p.name);
    if (!custom.includes('Churn_Integration_User')) problems.push(`${paths.workerPermissionSet}: does not grant Churn_Integration_User`);
  }
  if (existsSync(join(root, paths.refreshPermissionSet))) {
    const { doc } = granted(paths.refreshPermissionSet);
    const custom = (doc.customPermissions ?? []).filter((p: { enabled: string }) => p.enabled === 'true').map((p: { name: string }) => p.name);
    if (custom.includes('Churn_Integration_User')) {
      problems.push(`${paths.refreshPermissionSet}: grants Churn_Integration_User; rescoring by people would then skip loop prevention`);
    }
  }
  return problems;
}

/** Every string in the feature spec that looks like a custom field name must be a field with a file. */
export function checkFeatureSpec(specFile: string, files: Map<string, FieldFile>): string[] {
  const problems: string[] = [];
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(specFile, 'utf8'));
  } catch (error) {
    return [`${specFile}: not JSON (${(error as Error).message})`];
  }
  const names = new Set<string>();
  const walk = (node: unknown) => {
    if (typeof node === 'string') {
      for (const [, name] of node.matchAll(FIELD_TOKEN)) names.add(name!);
    } else if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        walk(key);
        walk(value);
      }
    }
  };
  walk(spec);
  if (names.size === 0) problems.push(`${specFile}: names no __c field at all`);
  for (const name of names) {
    if (!files.has(name)) problems.push(`${specFile}: names ${name}, which has no field file`);
  }
  return problems;
}

export function featureSpecFiles(dir = MODELS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.spec.json'))
    .map((f) => join(dir, f));
}

// ---------------------------------------------------------------------------------------------
// 5. No secrets

/** Consumer key placeholders the setup guide tells the admin to replace. */
export const CONSUMER_KEY_PLACEHOLDER = /^REPLACE_WITH_[A-Z_]+$/;

export function checkNoSecrets(root: string): string[] {
  const problems: string[] = [];
  for (const file of listFiles(root)) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    if (/-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY-----/.test(text)) problems.push(`${rel}: contains a private key`);
    if (/\.(key|pem|p12|pfx|jks)$/i.test(file)) problems.push(`${rel}: key or keystore file in the repository`);
    for (const [, value] of text.matchAll(/<consumerSecret>([\s\S]*?)<\/consumerSecret>/g)) {
      problems.push(`${rel}: has a consumerSecret element${value!.trim() ? ' with a value' : ''}; consumer secrets never go in the repository`);
    }
    for (const [, value] of text.matchAll(/<consumerKey>([\s\S]*?)<\/consumerKey>/g)) {
      if (!CONSUMER_KEY_PLACEHOLDER.test(value!.trim())) problems.push(`${rel}: consumerKey "${value!.trim().slice(0, 8)}…" is not a placeholder`);
    }
    // The outbound message's shared secret is replaced at deploy time; the repository holds the placeholder.
    for (const [, token] of text.matchAll(/[?&]token=([A-Za-z0-9_-]+)/g)) {
      if (token !== 'REPLACE_WITH_OUTBOUND_SECRET') problems.push(`${rel}: an endpoint URL carries a token that is not the placeholder; secrets never go in the repository`);
    }
    // Salesforce-issued consumer keys start with 3MVG.
    if (/\b3MVG[0-9A-Za-z._]{20,}/.test(text)) problems.push(`${rel}: contains what looks like a Salesforce consumer key (3MVG…)`);
    if (/\.ecaGlblOauth(-meta\.xml)?$/.test(file) || /<ExtlClntAppGlobalOauthSettings\b/.test(text)) {
      problems.push(`${rel}: External Client App global OAuth settings (consumer key/secret) must not be in source`);
    }
  }
  const forceignore = existsSync(join(root, '.forceignore')) ? read(root, '.forceignore') : '';
  if (!/ecaGlblOauth/.test(forceignore)) problems.push('.forceignore: does not keep *.ecaGlblOauth files out of retrieves');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 6. One API version

/** sfdx-project.json names a sourceApiVersion and every apiVersion element in the source agrees with it. */
export function checkApiVersions(root: string): string[] {
  const problems: string[] = [];
  let project: { sourceApiVersion?: string; packageDirectories?: { path: string; default?: boolean }[] };
  try {
    project = JSON.parse(read(root, 'sfdx-project.json'));
  } catch (error) {
    return [`sfdx-project.json: ${(error as Error).message}`];
  }
  const version = project.sourceApiVersion;
  if (!version || !/^\d{2,3}\.0$/.test(version)) return [`sfdx-project.json: sourceApiVersion is ${JSON.stringify(version)}`];
  if (!project.packageDirectories?.some((d) => d.path === 'force-app' && d.default === true)) {
    problems.push('sfdx-project.json: force-app is not the default package directory');
  }
  for (const file of listFiles(root).filter((f) => f.endsWith('-meta.xml'))) {
    for (const [, found] of readFileSync(file, 'utf8').matchAll(/<apiVersion>([^<]*)<\/apiVersion>/g)) {
      if (found !== version) problems.push(`${relative(root, file)}: apiVersion ${found}, sfdx-project.json says ${version}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 7. The Named Credential's JWT claims

export const EXTERNAL_CREDENTIAL = `${DEFAULT}/externalCredentials/Churn_Prediction_API.externalCredential-meta.xml`;

/** Claims Salesforce adds or sets itself; a JwtBodyClaim of the same name would compete with them. */
const SALESFORCE_SET_CLAIMS = ['exp', 'iat', 'nbf', 'alg', 'typ', 'kid'];

/**
 * The External Credential uses the documented mechanisms only (named-credentials reference, "OAuth
 * 2.0 Bearer Flow JWT Claims"): exp, iat and nbf are left to Salesforce (exp from the credential's
 * Expiration field), iss/aud/sub are plain JwtBodyClaim values without formulas, iss is filled in at
 * deploy time from CHURN_ORG_ID and aud is what the prediction API accepts by default.
 */
export function checkExternalCredential(root: string, defaultAudience: string): string[] {
  const problems: string[] = [];
  const where = EXTERNAL_CREDENTIAL;
  const doc = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (n) => n === 'externalCredentialParameters' }).parse(read(root, where))
    .ExternalCredential ?? {};
  if (doc.authenticationProtocol !== 'Jwt') problems.push(`${where}: authenticationProtocol is ${doc.authenticationProtocol}, not Jwt`);
  const params: Array<{ parameterName?: string; parameterType?: string; parameterValue?: string; certificate?: string }> = doc.externalCredentialParameters ?? [];
  const claims = new Map(params.filter((p) => p.parameterType === 'JwtBodyClaim').map((p) => [String(p.parameterName), String(p.parameterValue ?? '')]));
  for (const name of SALESFORCE_SET_CLAIMS) {
    if (claims.has(name)) problems.push(`${where}: sets the ${name} claim by hand; Salesforce sets it (exp through the credential's Expiration field)`);
  }
  for (const [name, value] of claims) {
    if (/\{!/.test(value)) problems.push(`${where}: the ${name} claim is a formula (${value.slice(0, 60)}); use a plain value`);
  }
  if (claims.get('iss') !== 'REPLACE_WITH_ORG_ID') problems.push(`${where}: iss is ${JSON.stringify(claims.get('iss'))}, expected the REPLACE_WITH_ORG_ID placeholder`);
  if (claims.get('aud') !== defaultAudience) problems.push(`${where}: aud is ${JSON.stringify(claims.get('aud'))}, the prediction API expects ${defaultAudience}`);
  if (!claims.get('sub')) problems.push(`${where}: no sub claim`);
  if (!params.some((p) => p.parameterType === 'SigningCertificate' && p.certificate === 'Churn_Prediction_API_Signing')) {
    problems.push(`${where}: no SigningCertificate parameter naming Churn_Prediction_API_Signing`);
  }
  const project = JSON.parse(read(root, 'sfdx-project.json')) as { replacements?: Array<{ filename: string; stringToReplace: string; replaceWithEnv: string }> };
  if (!project.replacements?.some((r) => r.filename === where && r.stringToReplace === 'REPLACE_WITH_ORG_ID' && r.replaceWithEnv === 'CHURN_ORG_ID')) {
    problems.push('sfdx-project.json: no replacement fills the external credential\'s iss from CHURN_ORG_ID');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 8. What the integration user may do, as the emulator needs to know it

/** The user permissions and Account access a permission set grants, in the emulator's terms. */
export function grantedPermissions(root: string, rel: string): { ApiEnabled: boolean; ViewSetup: boolean; AccountRead: boolean; AccountEdit: boolean } {
  const doc = xml.parse(read(root, rel)).PermissionSet ?? {};
  const user = new Set((doc.userPermissions ?? []).filter((p: { enabled: string }) => p.enabled === 'true').map((p: { name: string }) => p.name));
  const account = (doc.objectPermissions ?? []).find((p: { object: string }) => p.object === 'Account') ?? {};
  return { ApiEnabled: user.has('ApiEnabled'), ViewSetup: user.has('ViewSetup'), AccountRead: account.allowRead === 'true', AccountEdit: account.allowEdit === 'true' };
}

/**
 * Top-level descriptions within the documented limits: PermissionSet 255 characters (Metadata API
 * PermissionSet, "description … maximum 255 characters"), NamedCredential 255 (field reference:
 * Description string(255)); ExternalCredential is held to the same (an assumption: its limit is not
 * documented). A longer one fails the deploy.
 */
export function checkDescriptionLengths(root: string): string[] {
  const problems: string[] = [];
  const limited = listFiles(root).filter((f) => /\.(permissionset|namedCredential|externalCredential)-meta\.xml$/.test(f));
  for (const file of limited) {
    const text = readFileSync(file, 'utf8');
    const top = /^\s{4}<description>([\s\S]*?)<\/description>/m.exec(text);
    if (!top) continue;
    const plain = top[1]!.replace(/&(amp|lt|gt|quot|apos);/g, 'x');
    if (plain.length > 255) problems.push(`${relative(root, file)}: description is ${plain.length} characters, at most 255 deploy`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// 9. Apex limits the action must respect, and a test class that runs in any org

/**
 * The `static final Integer` constants of an Apex class, evaluated: literals and expressions over
 * earlier constants with + - * / (integer division, as Apex does) and parentheses.
 */
export function apexIntegerConstants(source: string): Map<string, number> {
  const values = new Map<string, number>();
  const code = stripApexComments(source);
  for (const [, name, expr] of code.matchAll(/static\s+final\s+Integer\s+([A-Z_][A-Z0-9_]*)\s*=\s*([^;]+);/g)) {
    const tokens = expr!.match(/\d+|[A-Za-z_]\w*|[-+*/()]/g) ?? [];
    let at = 0;
    const primary = (): number => {
      const t = tokens[at++];
      if (t === '(') {
        const v = sum();
        at++;
        return v;
      }
      if (t !== undefined && /^\d+$/.test(t)) return Number(t);
      if (t !== undefined && values.has(t)) return values.get(t)!;
      throw new Error(`cannot evaluate ${name} = ${expr}: unknown ${t}`);
    };
    const product = (): number => {
      let v = primary();
      while (tokens[at] === '*' || tokens[at] === '/') v = tokens[at++] === '*' ? v * primary() : Math.trunc(v / primary());
      return v;
    };
    const sum = (): number => {
      let v = product();
      while (tokens[at] === '+' || tokens[at] === '-') v = tokens[at++] === '+' ? v + product() : v - product();
      return v;
    };
    values.set(name!, sum());
  }
  return values;
}

/**
 * ChurnScoreRefresh fits Apex's callout limits (Apex Developer Guide, "Callout Limits and
 * Limitations": at most 100 callouts, each timeout at most 120,000 ms, and "the maximum cumulative
 * timeout for callouts by a single Apex transaction is 120 seconds"): with MAX_ACCOUNTS Accounts in
 * callouts of MAX_RECORDS_PER_CALLOUT (the prediction API takes at most 200 records), the timeouts add
 * up to at most 120 s; the class tracks what it committed so a later change of the constants cannot
 * pass the limit; the test class finds its profile without a (translated) profile name.
 */
export function checkCalloutLimits(root: string): string[] {
  const problems: string[] = [];
  const rel = `${paths.classes}/ChurnScoreRefresh.cls`;
  const source = read(root, rel);
  let c: Map<string, number>;
  try {
    c = apexIntegerConstants(source);
  } catch (error) {
    return [`${rel}: ${(error as Error).message}`];
  }
  const [limit, timeout, perCallout, max] = ['CALLOUT_TIME_LIMIT_MS', 'TIMEOUT_MS', 'MAX_RECORDS_PER_CALLOUT', 'MAX_ACCOUNTS'].map((n) => c.get(n));
  if (limit === undefined || timeout === undefined || perCallout === undefined || max === undefined) {
    return [`${rel}: CALLOUT_TIME_LIMIT_MS, TIMEOUT_MS, MAX_RECORDS_PER_CALLOUT and MAX_ACCOUNTS must be static final Integer constants`];
  }
  if (limit !== 120_000) problems.push(`${rel}: CALLOUT_TIME_LIMIT_MS is ${limit}; Apex's cumulative callout timeout is 120000 ms`);
  if (timeout < 1 || timeout > 120_000) problems.push(`${rel}: TIMEOUT_MS is ${timeout}; a callout timeout is 1 to 120000 ms`);
  if (perCallout < 1 || perCallout > 200) problems.push(`${rel}: MAX_RECORDS_PER_CALLOUT is ${perCallout}; the prediction API takes 1 to 200 records`);
  const callouts = Math.ceil(max / perCallout);
  if (callouts * timeout > 120_000) {
    problems.push(`${rel}: MAX_ACCOUNTS ${max} needs ${callouts} callouts of ${timeout} ms = ${(callouts * timeout) / 1000} s, over Apex's 120 s of callout time per transaction`);
  }
  if (callouts > 100) problems.push(`${rel}: MAX_ACCOUNTS ${max} needs ${callouts} callouts, over Apex's 100 per transaction`);
  const code = stripApexComments(source);
  if (!/setTimeout\(\s*timeout\s*\)/.test(code) || !/CALLOUT_TIME_LIMIT_MS\s*-\s*calloutTimeCommittedMs/.test(code)) {
    problems.push(`${rel}: the callout timeout is not taken from the callout time left (CALLOUT_TIME_LIMIT_MS - calloutTimeCommittedMs)`);
  }
  const testRel = `${paths.classes}/ChurnScoreRefresh_Test.cls`;
  const test = stripApexComments(read(root, testRel));
  if (/FROM\s+Profile\s+WHERE\s+Name\s*=/i.test(test)) problems.push(`${testRel}: looks a profile up by its name, which is translated in orgs with another language`);
  if (!/calloutTimeCommittedMs/.test(test) || !/MAX_ACCOUNTS/.test(test)) problems.push(`${testRel}: no test runs the maximum number of Accounts against the callout time limit`);
  return problems;
}
