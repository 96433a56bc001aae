import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackPropsFromContext } from '../../infra/context';
import { DingtalkBridgeStack, type HandlerName } from '../../infra/stack';
import { actionKey, appSecretKey, callbackSecretKey, cardKey, cardSecretKey, chatsPk, incidentPk, clientClaimKey, eventCountKey, eventDedupeKey, flashdutySecretKey, incidentStateKey, linkPk, linkSecretKey, parkedCountKey, parkedOrgKey, pressKey, quotaKey, tenantKey, tokenKey, userLinkKey } from '../../lib/contracts/tableKeys';
import { recordProjection } from '../../lib/store/secrets';

/**
 * What each function's role may do to which items of the table, read off the synthesized template
 * the way IAM decides it: an Allow statement on the table (or on `*`) naming the action, whose
 * `ForAllValues:StringLike` `dynamodb:LeadingKeys` patterns (if any) match the item's partition key,
 * and whose `ForAllValues:StringEquals` `dynamodb:Attributes` (if any) hold every attribute the
 * request names; a request naming none (a whole item) has `dynamodb:Select` ALL_ATTRIBUTES, which
 * `StringEqualsIfExists` `dynamodb:Select` SPECIFIC_ATTRIBUTES refuses.
 */
const ROOT = join(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
const ALL: HandlerName[] = ['actions', 'callback', 'drain', 'events', 'homepage', 'link', 'sender', 'unpark'];
const READS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'];
const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, Record<string, string | string[]>> };

let stack: DingtalkBridgeStack;
let template: Template;

beforeAll(() => {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const { stackName, ...props } = stackPropsFromContext(app);
  stack = new DingtalkBridgeStack(app, stackName, props);
  template = Template.fromStack(stack);
}, 120_000);

const logicalId = (c: IConstruct): string => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

function statementsOf(name: HandlerName): Statement[] {
  const role = stack.functions[name].role!;
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(role) }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** A statement that covers the table: it names it, or any resource (`*`). */
const onTable = (s: Statement) => ([] as unknown[]).concat(s.Resource).some((r) => r === '*' || JSON.stringify(r).includes(logicalId(stack.table)));
const globToRegExp = (glob: string) => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action);

/**
 * True when the role may do `action` to items of partition `pk`; `attributes` are the attributes the
 * request names (a projection), none for the whole item.
 */
function may(name: HandlerName, action: string, pk: string, attributes?: readonly string[]): boolean {
  return statementsOf(name).some((s) => {
    if (s.Effect !== 'Allow' || !onTable(s)) return false;
    if (!actionsOf(s).some((a) => a === action || a === 'dynamodb:*' || a === '*')) return false;
    const patterns = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
    if (patterns !== undefined && !([] as string[]).concat(patterns).some((p) => globToRegExp(p).test(pk))) return false;
    const allowed = s.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'];
    if (allowed !== undefined && attributes !== undefined && !attributes.every((a) => ([] as string[]).concat(allowed).includes(a))) return false;
    const select = s.Condition?.StringEqualsIfExists?.['dynamodb:Select'];
    if (select !== undefined && attributes === undefined && !([] as string[]).concat(select).includes('ALL_ATTRIBUTES')) return false;
    return true;
  });
}

const SECRET_ATTRIBUTES = ['clientSecret', 'aesKey', 'token', 'previousAesKey', 'previousToken', 'flashdutyAppKey'];
/** The attributes the code's projected tenant read names (lib/store/secrets.ts). */
const RECORD_READ = Object.values(recordProjection().ExpressionAttributeNames);

const readers = (pk: string) => ALL.filter((n) => READS.some((a) => may(n, a, pk)));
const writers = (pk: string) => ALL.filter((n) => WRITES.some((a) => may(n, a, pk)));

describe('table grants', () => {
  it('no role but the callback can read a tenant aesKey or token', () => {
    expect(readers(callbackSecretKey('acme').pk)).toEqual(['callback']);
    expect(writers(callbackSecretKey('acme').pk)).toEqual([]);
  });

  it('no role but the sender, the drain and the link function (its getuserinfo token) can read a clientSecret or an access token (the operator uses their own credentials)', () => {
    expect(readers(appSecretKey('acme').pk)).toEqual(['drain', 'link', 'sender']);
    expect(writers(appSecretKey('acme').pk)).toEqual([]);
    expect(readers(tokenKey('dingabc').pk)).toEqual(['drain', 'link', 'sender']);
  });

  it('only the link function reads the link-signing key, and no function writes it (the operator mints link URLs)', () => {
    expect(readers(linkSecretKey('acme').pk)).toEqual(['link']);
    expect(writers(linkSecretKey('acme').pk)).toEqual([]);
  });

  it('only the link function writes links; the sender and the drain (notify.to.memberIds) and the callback (who pressed) read them', () => {
    expect(writers(linkPk('acme'))).toEqual(['link']);
    expect(readers(linkPk('acme'))).toEqual(['callback', 'drain', 'link', 'sender']);
    for (const pk of [callbackSecretKey('acme').pk, chatsPk('acme'), 'NOTIFY#acme#n1', 'PARK#dingcorp', 'LANES', 'CARD#acme', 'SECRET#CARD#acme', 'SECRET#FLASHDUTY#acme']) {
      expect([pk, readers(pk).includes('link')]).toEqual([pk, false]);
    }
  });

  it('the sender and the drain write the card secret, incidents and cards (docs/two-way.md, "Cards"); the homepage and the events function touch none', () => {
    for (const pk of [cardSecretKey('acme').pk, incidentPk('acme', 'inc-1'), cardKey('acme', 'dtb1').pk]) {
      expect([pk, writers(pk)]).toEqual([pk, expect.arrayContaining(['drain', 'sender'])]);
      expect([pk, readers(pk).filter((n) => n === 'homepage' || n === 'events')]).toEqual([pk, []]);
    }
  });

  it('no role may read a secret still sitting in a tenant item not yet stripped: only the projected record', () => {
    const tenant = tenantKey('acme').pk;
    for (const name of ALL) {
      expect([name, READS.filter((a) => may(name, a, tenant))]).toEqual([name, []]);
      for (const secret of SECRET_ATTRIBUTES) expect([name, secret, READS.filter((a) => may(name, a, tenant, ['tenantId', secret]))]).toEqual([name, secret, []]);
    }
    expect(RECORD_READ.filter((a) => SECRET_ATTRIBUTES.includes(a))).toEqual([]);
    for (const name of ['events', 'homepage', 'sender', 'drain', 'unpark', 'link'] as const) expect([name, may(name, 'dynamodb:GetItem', tenant, RECORD_READ)]).toEqual([name, true]);
  });

  it('a statement on every resource (`*`) counts: a table action granted on `*` is seen', () => {
    const wide = { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' } as Statement;
    expect(onTable(wide)).toBe(true);
  });

  it('the callback reads its secret items, the projected tenant record and what a press needs; it writes only replay records', () => {
    expect(readers(tenantKey('acme').pk)).not.toContain('callback');
    expect(may('callback', 'dynamodb:GetItem', tenantKey('acme').pk, RECORD_READ)).toBe(true);
    expect(readers(chatsPk('acme'))).not.toContain('callback');
    for (const pk of [cardSecretKey('acme').pk, cardKey('acme', 'c0').pk, userLinkKey('acme', 'u1').pk, incidentStateKey('acme', 'inc-1').pk]) {
      expect([pk, may('callback', 'dynamodb:GetItem', pk)]).toEqual([pk, true]);
    }
    for (const pk of [appSecretKey('acme').pk, flashdutySecretKey('acme').pk, actionKey('acme', 'a1').pk, tokenKey('dingabc').pk]) {
      expect([pk, readers(pk).includes('callback')]).toEqual([pk, false]);
    }
    expect(writers(pressKey('acme', '1').pk)).toEqual(['callback']);
    expect(WRITES.filter((a) => may('callback', a, userLinkKey('acme', 'u1').pk))).toEqual([]);
    expect(WRITES.filter((a) => may('callback', a, cardKey('acme', 'c0').pk))).toEqual([]);
  });

  it('only the actions function reads a Flashduty APP Key, and only it writes action records', () => {
    expect(readers(flashdutySecretKey('acme').pk)).toEqual(['actions']);
    expect(writers(flashdutySecretKey('acme').pk)).toEqual([]);
    expect(writers(actionKey('acme', 'a1').pk)).toEqual(['actions']);
    expect(may('actions', 'dynamodb:GetItem', tenantKey('acme').pk, RECORD_READ)).toBe(true);
    for (const pk of [callbackSecretKey('acme').pk, appSecretKey('acme').pk, cardSecretKey('acme').pk, tokenKey('dingabc').pk, chatsPk('acme')]) {
      expect([pk, readers(pk).includes('actions')]).toEqual([pk, false]);
    }
  });

  it('no function writes a tenant record or a Client ID claim: only the operator does', () => {
    expect(writers(tenantKey('acme').pk)).toEqual([]);
    expect(writers(clientClaimKey('dingabc').pk)).toEqual([]);
  });

  it('the events function writes groups, war-room titles, its dedupe records and event counts, and nothing the sender owns', () => {
    expect(may('events', 'dynamodb:UpdateItem', chatsPk('acme'))).toBe(true);
    expect(may('events', 'dynamodb:PutItem', eventDedupeKey('acme', 'ev1').pk)).toBe(true);
    expect(may('events', 'dynamodb:UpdateItem', eventCountKey('dingcorp', '2026-11').pk)).toBe(true);
    for (const pk of [quotaKey('dingcorp', '2026-11').pk, tokenKey('dingabc').pk, 'PARK#dingcorp', 'LANES', 'NOTIFY#acme#n1']) {
      expect([pk, writers(pk).includes('events')]).toEqual([pk, false]);
    }
  });

  it('the homepage reads only non-secret partitions and writes nothing', () => {
    for (const pk of [callbackSecretKey('acme').pk, appSecretKey('acme').pk, tokenKey('dingabc').pk, 'NOTIFY#acme#n1', 'BACKLOG#dingabc', parkedOrgKey('dingcorp').pk]) {
      expect([pk, readers(pk).includes('homepage')]).toEqual([pk, false]);
    }
    expect(may('homepage', 'dynamodb:GetItem', tenantKey('acme').pk, RECORD_READ)).toBe(true);
    expect(may('homepage', 'dynamodb:GetItem', parkedCountKey('dingcorp').pk)).toBe(true);
    expect(may('homepage', 'dynamodb:Query', chatsPk('acme'))).toBe(true);
    expect(WRITES.some((a) => statementsOf('homepage').some((s) => actionsOf(s).includes(a)))).toBe(false);
  });

  it('every table statement of every role is bounded by leading keys, and no role may Scan', () => {
    for (const name of ALL) {
      const table = statementsOf(name).filter((s) => onTable(s) && actionsOf(s).some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:DescribeTable'));
      expect(table.length).toBeGreaterThan(0);
      for (const s of table) expect([name, s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']]).toEqual([name, expect.any(Array)]);
      expect([name, statementsOf(name).some((s) => actionsOf(s).some((a) => a === 'dynamodb:Scan' || a === 'dynamodb:*'))]).toEqual([name, false]);
    }
  });
});

describe('route throttling', () => {
  it('throttles the callback, the homepage and the link routes separately, the homepage and the link much lower', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /dingtalk/{tenantId}/callback': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'POST /card/{tenantId}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'GET /dingtalk/{tenantId}/home': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /link/{tenantId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'POST /link/{tenantId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    // Route settings name routes: the stage is deployed after all of them.
    const routes = Object.keys(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(5);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routes));
  });

  it('-c homepageRateLimit / homepageBurstLimit change the homepage route only', () => {
    const app = new App({ context: { ...CDK_CONTEXT, homepageRateLimit: '2', homepageBurstLimit: 4, 'aws:cdk:bundling-stacks': [] } });
    const { stackName, ...props } = stackPropsFromContext(app);
    const [stage] = Object.values(Template.fromStack(new DingtalkBridgeStack(app, stackName, props)).findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /dingtalk/{tenantId}/callback': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'POST /card/{tenantId}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'GET /dingtalk/{tenantId}/home': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 },
      'GET /link/{tenantId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'POST /link/{tenantId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });
});
