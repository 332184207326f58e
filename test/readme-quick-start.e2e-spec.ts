import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { codeBlocks, readmeSection } from './support/readme';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

/** The Quick start's `curl` and the reply it shows: the reply is what the server answers, byte for byte. */
describe("the README's Quick start", () => {
  const section = readmeSection('Quick start');
  const curl = codeBlocks(section, 'sh').find((block) => block.startsWith('curl '))!;
  const [reply] = codeBlocks(section, 'json');
  let pki: TestPki;
  let server: RunningWebhookServer;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki);
  });
  afterAll(() => server.close());

  it('shows the reply the server gives to the request it shows', async () => {
    const [, path] = /https:\/\/127\.0\.0\.1:1323(\S+)/.exec(curl)!;
    const body = /-d '([\s\S]*)'\s*$/.exec(curl)![1];
    const response = await request(`https://127.0.0.1:${server.address.port}`)
      .post(path)
      .ca(pki.ca.certificatePem)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(200);
    expect(`${response.text}\n`).toBe(reply);
  });
});
