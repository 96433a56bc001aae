import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { isLoopback, startSimControl, type SimControl } from '../../../infra/local/simControl';
import { startSimulator, type Simulator } from '../../../infra/local/dingtalkSimulator/simulator';
import { startFlashdutySimulator, type FlashdutySimulator } from '../../../infra/local/flashdutySimulator/simulator';
import { SIM_CONTROL_PATHS } from '../../../lib/contracts/simControl';

/**
 * The simulators' control server (infra/local/simControl.ts) is local-only: it refuses requests
 * from another machine, with a foreign Host, or from a browser page, before doing anything.
 */

/** A raw request (fetch cannot set Host). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** This machine's first non-loopback IPv4 address, if it has one. */
const outsideAddress = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('the simulator control server', () => {
  let dt: Simulator;
  let fd: FlashdutySimulator;
  let control: SimControl;
  let open: SimControl | undefined;

  beforeAll(async () => {
    dt = await startSimulator();
    fd = await startFlashdutySimulator();
    fd.addAccount({ accountId: 7, appKey: 'k' });
    fd.addIncident(7, { incidentId: 'inc-1' });
    dt.addApp({ clientId: 'app1', clientSecret: 's', corpId: 'corp1', qps: 10, monthlyQuota: 100 });
    dt.addUser('corp1', { userId: 'u1' });
    control = await startSimControl({ dingtalk: dt, flashduty: fd, flashdutyAccounts: [7] });
  });
  afterAll(async () => {
    await open?.stop();
    await control?.stop();
    await dt?.close();
    await fd?.close();
  });

  it('answers this machine: an auth code, an incident by id (accounts searched), unknown things 404', async () => {
    const code = await raw(`${control.url}${SIM_CONTROL_PATHS.authCode}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 'app1', userId: 'u1' }) });
    expect(code).toEqual({ status: 200, body: { code: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    expect(await raw(`${control.url}${SIM_CONTROL_PATHS.flashdutyIncident}?incidentId=inc-1`)).toMatchObject({ status: 200, body: { accountId: 7, incident: { incidentId: 'inc-1', progress: 'Triggered' } } });
    expect(await raw(`${control.url}${SIM_CONTROL_PATHS.flashdutyIncident}?incidentId=inc-2`)).toMatchObject({ status: 404 });
    const press = await raw(`${control.url}${SIM_CONTROL_PATHS.press}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outTrackId: 'none', userId: 'u1', action: 'ack' }) });
    expect(press).toEqual({ status: 404, body: { error: 'no card none' } });
    expect((await raw(`${control.url}/v1.0/card/instances/createAndDeliver`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('refuses a Host that is not a loopback address (a DNS name rebound to 127.0.0.1)', async () => {
    const r = await raw(`${control.url}${SIM_CONTROL_PATHS.cards}`, { headers: { host: 'attacker.example.com' } });
    expect(r).toEqual({ status: 403, body: { error: expect.stringContaining('Host must be a loopback address') } });
    expect((await raw(`${control.url}${SIM_CONTROL_PATHS.cards}`, { headers: { host: `localhost:${new URL(control.url).port}` } })).status).toBe(200);
  });

  it("refuses a browser page's request (Origin) and a POST that is not JSON, pressing nothing", async () => {
    const body = JSON.stringify({ clientId: 'app1', userId: 'u1' });
    expect(await raw(`${control.url}${SIM_CONTROL_PATHS.authCode}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://attacker.example.com' }, body }))
      .toEqual({ status: 403, body: { error: expect.stringContaining('no browser requests') } });
    expect((await raw(`${control.url}${SIM_CONTROL_PATHS.authCode}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).status).toBe(415);
  });

  (outsideAddress ? it : it.skip)('refuses a request from another address than loopback', async () => {
    open = await startSimControl({ dingtalk: dt, flashduty: fd, host: '0.0.0.0' });
    const port = new URL(open.url).port;
    // Through this machine's own outside interface: the request's source is that address, not loopback.
    const r = await raw(`http://${outsideAddress}:${port}${SIM_CONTROL_PATHS.cards}`, { headers: { host: `127.0.0.1:${port}` } });
    expect(r).toEqual({ status: 403, body: { error: expect.stringContaining('loopback requests only') } });
    expect((await raw(`${open.url}${SIM_CONTROL_PATHS.cards}`)).status).toBe(200);
  });

  it('tells loopback addresses from the rest', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['192.0.2.2', '::ffff:10.0.0.1', 'fd00::2', '1127.0.0.1', undefined]) expect(isLoopback(a)).toBe(false);
  });
});
