import { UnsafeAuthorizationRequest } from '../../../errors.js';
import { isDocumentClientId, MetadataDocumentError } from '../../../services/metadata-documents.js';
import type { Client } from '../../../storage/clients.js';
import { noteClient } from '../../../http/request-log.js';
import type { AuthorizeState } from '../state.js';

/**
 * check-client: client_id must name a registered client or a usable Client ID Metadata Document.
 * RFC 6749 §4.1.2.1: otherwise the server MUST NOT redirect, so this is a page.
 */
export async function checkClient(state: AuthorizeState): Promise<void> {
  state.client = await findClient(state, state.params.client_id);
  noteClient(state.request, state.client.clientId);
}

async function findClient(
  { deps, requestEnv, request }: AuthorizeState,
  clientId: string | undefined,
): Promise<Client> {
  if (clientId === undefined || clientId === '') {
    throw new UnsafeAuthorizationRequest(
      'This sign-in link is incomplete: it does not say which application is asking.',
      { message: 'client_id is missing' },
    );
  }
  if (isDocumentClientId(clientId)) {
    try {
      // Metadata-document fetches are limited per requesting address.
      return await deps.documentClients.resolve(requestEnv.environment, clientId, request.ip);
    } catch (error) {
      if (!(error instanceof MetadataDocumentError)) throw error;
      throw new UnsafeAuthorizationRequest(
        'This sign-in link names an application whose description could not be used.',
        { message: error.message },
      );
    }
  }
  const client = await deps.stores.clients.get(requestEnv.environment.name, clientId);
  if (client === undefined) {
    throw new UnsafeAuthorizationRequest(
      'This sign-in link names an application that is not registered here.',
      { message: `no client ${clientId} in environment ${requestEnv.environment.name}` },
    );
  }
  return client;
}
