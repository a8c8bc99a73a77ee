// mailauth ships no types for its DKIM parsers themselves; these are the parts mailauth-dkim.ts uses.
declare module 'mailauth/lib/dkim/dkim-verifier.js' {
  import type { Writable } from 'node:stream';
  import type { DKIMVerifyOptions, DKIMResult } from 'mailauth';
  export class DkimVerifier extends Writable {
    constructor(options?: DKIMVerifyOptions);
    headerFrom: string[];
    fromFields: number;
    envelopeFrom: string | false;
    results: DKIMResult[];
    headers?: unknown;
    arc?: unknown;
    seal?: unknown;
  }
}
declare module 'mailauth/lib/dkim/dkim-signer.js' {
  import type { Writable } from 'node:stream';
  import type { DKIMSignOptions, DKIMSignError, DKIMSignWarning } from 'mailauth';
  export class DkimSigner extends Writable {
    constructor(options: DKIMSignOptions);
    signatureHeaders: string[];
    arc?: unknown;
    errors: DKIMSignError[] | null;
    warnings: DKIMSignWarning[] | null;
  }
}
declare module 'mailauth/lib/tools.js' {
  // CommonJS module object; unsigned-dkim.ts types the two functions it uses
  const tools: Record<string, unknown>;
  export default tools;
}
