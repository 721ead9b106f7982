import type { Page } from 'playwright-core';
import { createOperator } from '../../src/services/operators.js';
import { consolePage, launchChromium } from './browser.js';
import { throwawaySqlite } from './databases.js';
import { startTestServer, type TestServer } from './server.js';

/** A server with an admin operator, and Chromium with a page for the admin console. */
export interface ConsoleFixture {
  readonly t: TestServer;
  readonly page: Page;
  /** Closes the browser and the server and drops the database. */
  close(): Promise<void>;
}

/** A fresh SQLite database and server where `operator` is an admin, and an operator-sized page. */
export async function startConsoleFixture(operator: {
  readonly email: string;
  readonly password: string;
}): Promise<ConsoleFixture> {
  const db = await throwawaySqlite();
  const t = await startTestServer(db);
  await createOperator(t.ctx, { ...operator, role: 'admin' });
  const browser = await launchChromium();
  const page = await consolePage(browser);
  return {
    t,
    page,
    close: async () => {
      await browser.close();
      await t.close();
      await db.drop();
    },
  };
}
