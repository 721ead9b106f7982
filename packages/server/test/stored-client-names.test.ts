/**
 * A client name stored before names were checked (issue #18 review: a name with a right-to-left
 * override reads as another on the consent page) is shown with U+FFFD in place of each unsafe
 * character, wherever it is read: the consent page, the console's API, the account page. So is a
 * resource's name (shown on the consent page too), which is now checked like a client's.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource } from '../src/services/resources.js';
import { openDatabase } from '../src/storage/database.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { codeRequest } from './support/oauth.js';
import { FormBrowser, startTestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const REDIRECT = 'https://app.example.com/cb';
/** Reads as "google.com" when shown as it is stored. */
const SPOOFING = '\u202emoc.elgoog';

describe.each(DATABASES)(
  'a client name stored with a bidirectional override ($kind)',
  ({ create }) => {
    let database: ThrowawayDatabase;

    beforeAll(async () => {
      database = await create();
    });
    afterAll(async () => {
      await database.drop();
    });

    it('is shown with U+FFFD in its place, never as the name it imitates', async () => {
      // Registered as a pre-upgrade server would have let it (the name written straight to the row).
      const before = await startTestServer(database);
      let clientId: string;
      try {
        ({ clientId } = await before.client({
          type: 'web',
          name: 'Placeholder',
          redirectUris: [REDIRECT],
        }));
        await before.user('reader@example.com', PASSWORD);
      } finally {
        await before.close();
      }
      const handle = await openDatabase(database.target);
      try {
        await sql`update clients set name = ${SPOOFING} where client_id = ${clientId}`.execute(
          handle.db,
        );
      } finally {
        await handle.close();
      }

      const t = await startTestServer(database);
      try {
        // What the operator's tools read.
        expect((await t.ctx.stores.clients.get('development', clientId))?.name).toBe(
          '\ufffdmoc.elgoog',
        );
        // What the user is asked to consent to.
        const browser = new FormBrowser(t.url);
        const page = await browser.signInUntilDecision(
          codeRequest(clientId, REDIRECT).query,
          'reader@example.com',
          PASSWORD,
        );
        expect(page).toContain('name="decision"');
        expect(page).toContain('\ufffdmoc.elgoog');
        expect(page).not.toContain('\u202e');
      } finally {
        await t.close();
      }
    });

    it('a resource name: refused when registered, shown with U+FFFD when stored before', async () => {
      const t = await startTestServer(database);
      try {
        const uri = 'https://api.example.com/';
        await expect(
          registerResource(t.ctx, 'development', { uri, name: '\u202eIPA knaB', scopes: ['read'] }),
        ).rejects.toMatchObject({ code: 'invalid_resource_name' });
        await registerResource(t.ctx, 'development', { uri, name: 'Bank API', scopes: ['read'] });
      } finally {
        await t.close();
      }
      const handle = await openDatabase(database.target);
      try {
        await sql`update resources set name = ${'\u202eIPA knaB'} where uri = ${'https://api.example.com/'}`.execute(
          handle.db,
        );
      } finally {
        await handle.close();
      }
      const again = await startTestServer(database);
      try {
        expect(
          (await again.ctx.stores.resources.get('development', 'https://api.example.com/'))?.name,
        ).toBe('\ufffdIPA knaB');
      } finally {
        await again.close();
      }
    });
  },
);
