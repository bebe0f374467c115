/**
 * An embedded PostgreSQL for the demo when no server answers: PGlite (PostgreSQL compiled to
 * WebAssembly, in this process, in memory) behind its socket server, so the web and worker processes
 * reach it with the same `pg` client code as a real server. Development tooling only: it holds one
 * session for every connection (transactions are queued per connection) and cannot COPY, and the
 * web and worker processes never start one themselves.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** postgres://… on 127.0.0.1 and a free port. */
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const db = await PGlite.create();
  // Each process opens a few connections (pools, the migration runner); 32 leaves room for several.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
