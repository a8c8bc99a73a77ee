// Message trace: typed events per message and recipient, recorded by every role in its own store.
export type TraceEventType = 'RECEIVE' | 'SEND' | 'DELIVER' | 'DEFER' | 'FAIL' | 'EXPAND' | 'DSN' | 'REJECT' | 'QUARANTINE';

export interface TraceEvent {
  at: number;
  role: string;
  type: TraceEventType;
  messageId: string;
  queueId?: string;
  sender?: string;
  recipient?: string;
  /** Inbound connector a message arrived on, or outbound connector it left by. */
  connector?: string;
  /** Remote host (SEND: next hop; RECEIVE: client) as name and/or IP. */
  host?: string;
  /** The SMTP reply that decided the event, as text (`250 2.0.0 OK`). */
  reply?: string;
  /** Human reason: the routing rule, the filter verdict, the mailbox path. */
  reason?: string;
  /** Extra structured facts (auth results, verdict, mailbox folder). */
  data?: Record<string, unknown>;
}

export interface TraceQuery {
  messageId?: string;
  sender?: string;
  recipient?: string;
  since?: number;
  limit?: number;
}

export interface TraceStore {
  record(event: TraceEvent): void;
  query(q: TraceQuery): TraceEvent[];
  close(): void;
}
