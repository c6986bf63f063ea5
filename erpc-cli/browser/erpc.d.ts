// Types of erpc.js: an eRPC client for browsers over Go eRPC's websocket JSON sub-protocol.

/** Message types. */
export declare const MTYPE: Readonly<{ CALL: 1; REPLY: 2; PUSH: 3 }>;

/** Body codec ids (Go's codec bytes): none, JSON (`'j'`), plain text (`'s'`). */
export declare const CODEC: Readonly<{ NONE: 0; JSON: 106; PLAIN: 115 }>;

/** Status codes this client produces or that an eRPC peer commonly sends. */
export declare const CODE: Readonly<{
  UNKNOWN_ERROR: -1;
  CONN_CLOSED: 102;
  WRITE_FAILED: 104;
  DIAL_FAILED: 105;
  BAD_MESSAGE: 400;
  NOT_FOUND: 404;
  HANDLE_TIMEOUT: 408;
  INTERNAL_SERVER_ERROR: 500;
}>;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Default call timeout in ms (a call then rejects with 408); 0: none. Default 30000. */
  timeout?: number;
  /** Most calls waiting for a reply or for the connection; more reject at once with 500 "too many pending calls". Default 1024. */
  maxPending?: number;
  /** Most bytes the websocket may hold unsent; a send beyond rejects with 104. Default 8 MiB. */
  maxBuffered?: number;
  /** Redial when the connection drops or a dial fails. Default true. */
  reconnect?: boolean;
  /** First redial pause in ms (doubled per failed attempt, with jitter). Default 100. */
  minDelay?: number;
  /** Longest redial pause in ms. Default 5000. */
  maxDelay?: number;
  /** The server's `--ws-token`, sent as the `access_token` query parameter. */
  token?: string;
}

/** Defaults of {@link ConnectOptions}. */
export declare const DEFAULTS: Readonly<Required<Omit<ConnectOptions, "token">>> & { token: undefined };

/** Meta: a URL query string, URLSearchParams, or an object of values (arrays repeat a key). */
export type Meta = string | URLSearchParams | Record<string, string | number | boolean | Array<string | number | boolean>>;

/** A body codec by name or id: `"json"` (default: the body is JSON-encoded), `"plain"` (text), `"none"`, or a codec byte. */
export type Codec = "json" | "plain" | "string" | "none" | number;

/** Options of one call. */
export interface CallOptions {
  /** Meta sent with the call. */
  meta?: Meta;
  /** Timeout in ms, overriding the client's; 0: none. */
  timeout?: number;
  /** Body codec. Default `"json"`. */
  codec?: Codec;
}

/** Options of one push. */
export interface PushOptions {
  meta?: Meta;
  codec?: Codec;
}

/** What a handler learns besides the body. */
export interface Context {
  serviceMethod: string;
  meta: URLSearchParams;
}

/** A failed call or push: the eRPC status. `cause` is `undefined` when the status has none. */
export declare class ErpcError extends Error {
  constructor(code: number, message?: string, cause?: string);
  readonly code: number;
  readonly cause: string | undefined;
}

/** The status of a status query string (`code=404&msg=Not%20Found&cause=`); `null` when OK. */
export declare function parseStatus(query: string | undefined | null): ErpcError | null;

/** What `on("close")` reports; `final` once the client will not redial. */
export interface CloseEvent {
  final: boolean;
  code: number;
  reason: string;
}

/** A connection to an eRPC websocket server that redials with backoff when it drops. */
export declare class Client {
  constructor(url: string, opts?: ConnectOptions);
  /** The websocket URL dialed (with the token). */
  readonly url: string;
  /** True while the websocket is open. */
  readonly connected: boolean;
  /** Calls waiting for a reply or for the connection. */
  readonly pending: number;
  /**
   * Calls `serviceMethod`; resolves with the reply body (JSON-decoded for the JSON codec,
   * otherwise the text). Rejects with an {@link ErpcError}: the reply's status (an erpc-rs
   * server sends it; a Go server sends failures as empty OK replies), 102 when the connection
   * drops after the call was sent, 408 on timeout, 500 over `maxPending`, 104 when the send
   * buffer is full. A call made while disconnected waits for the next connection.
   */
  call<T = unknown>(serviceMethod: string, body?: unknown, opts?: CallOptions): Promise<T>;
  /** Pushes to `serviceMethod`; resolves once handed to the websocket, rejects with 102 while disconnected. */
  push(serviceMethod: string, body?: unknown, opts?: PushOptions): Promise<void>;
  /** Handles the server's pushes to `route`; returns a function that removes the handler. */
  onPush<T = unknown>(route: string, handler: (body: T, ctx: Context) => void): () => void;
  /** Answers the server's calls to `route` (other routes get 404); throw an ErpcError to fail with its status. */
  onCall<T = unknown>(route: string, handler: (body: T, ctx: Context) => unknown): () => void;
  /** Connection events; returns a function that removes the handler. */
  on(event: "open", handler: (ev: { url: string }) => void): () => void;
  on(event: "close", handler: (ev: CloseEvent) => void): () => void;
  on(event: "error", handler: (err: Error) => void): () => void;
  /** Resolves when connected (now or after the next dial); rejects once the client is closed. */
  ready(): Promise<void>;
  /** Closes for good: pending calls reject with 102, no redial. */
  close(): void;
}

/** Opens a client to `url` (`ws://host:port/path`; `http(s)://` is turned into `ws(s)://`). */
export declare function connect(url: string, opts?: ConnectOptions): Client;
