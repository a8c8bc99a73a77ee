// mailauth ships no types for its Received parser; these are the parts the filters use.
declare module 'mailauth/lib/parse-received.js' {
  export interface ReceivedClause {
    value?: string;
    comment?: string;
  }
  export function parseReceived(header: string | Buffer): false | Record<string, ReceivedClause | string | undefined>;
  /** The connecting client's address from a parsed `from` clause (last literal of the TCP-info), or false. */
  export function getClientAddress(from: ReceivedClause | undefined): string | false;
}
