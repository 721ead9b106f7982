import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The metadata of a plain stand-in authorization server at `issuer`: the code flow with PKCE S256. */
export function codeFlowMetadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    code_challenge_methods_supported: ['S256'],
  };
}

/** Starts `server` on 127.0.0.1 at a port of the moment; its address as an issuer. */
export async function listenAsIssuer(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
