// erpc.js: an eRPC client for browsers, over Go eRPC's websocket network (mixer/websocket)
// with its JSON sub-protocol. One ES module, no dependencies. Types: erpc.d.ts.
//
//   import { connect } from "./erpc.js";
//   const client = connect("ws://127.0.0.1:9090/");
//   const sum = await client.call("/math/add", [1, 2, 3]);
//   client.onPush("/push/echo_back", (body) => console.log(body));
//   await client.push("/push/echo", "hello");
//
// Each websocket message is one JSON object, Go's shape:
//   {"seq":1,"mtype":1,"serviceMethod":"/math/add","meta":"a=b","bodyCodec":106,
//    "body":"[1,2,3]","xferPipe":[]}
// mtype 1 is a CALL, 2 its REPLY (same seq), 3 a PUSH; meta is a URL query string; the body
// is a string holding the encoded body (JSON text for bodyCodec 106, text for 115). An
// erpc-rs server adds "status":"code=N&msg=…&cause=…" to a failed reply (Go ignores the
// key; a Go server sends a failed reply as an OK one with an empty body).

/** Message types. */
export const MTYPE = Object.freeze({ CALL: 1, REPLY: 2, PUSH: 3 });

/** Body codec ids (Go's codec bytes). */
export const CODEC = Object.freeze({ NONE: 0, JSON: 106, PLAIN: 115 });

/** Status codes this client produces or that an eRPC peer commonly sends. */
export const CODE = Object.freeze({
  UNKNOWN_ERROR: -1,
  CONN_CLOSED: 102,
  WRITE_FAILED: 104,
  DIAL_FAILED: 105,
  BAD_MESSAGE: 400,
  NOT_FOUND: 404,
  HANDLE_TIMEOUT: 408,
  INTERNAL_SERVER_ERROR: 500,
});

const CODE_TEXT = {
  [-1]: "Unknown Error",
  1: "Invalid Operation",
  100: "Wrong Connection",
  102: "Connection Closed",
  104: "Write Failed",
  105: "Dial Failed",
  400: "Bad Message",
  401: "Unauthorized",
  404: "Not Found",
  405: "Message Type Not Allowed",
  408: "Handle Timeout",
  500: "Internal Server Error",
  502: "Bad Gateway",
};

/** Defaults of the options of {@link connect}. */
export const DEFAULTS = Object.freeze({
  timeout: 30000,
  maxPending: 1024,
  maxBuffered: 8 << 20,
  reconnect: true,
  minDelay: 100,
  maxDelay: 5000,
  token: undefined,
});

/** A failed call or push: `code`, `message` and `cause` of the eRPC status. */
export class ErpcError extends Error {
  constructor(code, message, cause) {
    super(message || CODE_TEXT[code] || CODE_TEXT[-1]);
    this.name = "ErpcError";
    this.code = code;
    this.cause = cause;
  }
}

function status(code, cause) {
  return new ErpcError(code, CODE_TEXT[code] || CODE_TEXT[-1], cause);
}

/** Parses an eRPC status query (`code=404&msg=Not%20Found&cause=`); `null` when OK. */
export function parseStatus(query) {
  if (!query) return null;
  const q = new URLSearchParams(query);
  const text = q.get("code");
  let code = text !== null && /^-?\d+$/.test(text) ? Number(text) : -1;
  if (code > 2147483647) code = 2147483647;
  if (code < -2147483648) code = -2147483648;
  if (code === 0) return null;
  const cause = q.has("cause") ? q.get("cause") : undefined;
  return new ErpcError(code, q.get("msg") || cause || CODE_TEXT[code] || CODE_TEXT[-1], cause);
}

function encodeMeta(meta) {
  if (meta === undefined || meta === null) return "";
  if (typeof meta === "string") return meta;
  if (meta instanceof URLSearchParams) return meta.toString();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(meta)) {
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  return q.toString();
}

function codecId(codec) {
  if (codec === undefined || codec === "json") return CODEC.JSON;
  if (codec === "plain" || codec === "string") return CODEC.PLAIN;
  if (codec === "none") return CODEC.NONE;
  if (Number.isInteger(codec) && codec >= 0 && codec <= 255) return codec;
  throw new TypeError(`unknown codec ${String(codec)}`);
}

function encodeBody(body, codec) {
  if (codec === CODEC.JSON) return body === undefined ? "" : JSON.stringify(body);
  if (body === undefined || body === null) return "";
  return typeof body === "string" ? body : String(body);
}

function decodeBody(msg) {
  const body = typeof msg.body === "string" ? msg.body : "";
  if (msg.bodyCodec !== CODEC.JSON) return body;
  if (body === "") return null;
  return JSON.parse(body);
}

/** Opens a client to `url` (`ws://host:port/path`) and keeps it connected; see erpc.d.ts. */
export function connect(url, opts = {}) {
  return new Client(url, opts);
}

/** A connection to an eRPC websocket server that redials when it drops. */
export class Client {
  constructor(url, opts = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    const u = new URL(url, typeof location === "undefined" ? undefined : location.href);
    if (u.protocol === "http:") u.protocol = "ws:";
    if (u.protocol === "https:") u.protocol = "wss:";
    if (this.opts.token !== undefined) u.searchParams.set("access_token", this.opts.token);
    this.url = u.toString();
    this._ws = null;
    this._open = false;
    this._closed = false;
    this._seq = 0;
    this._attempt = 0;
    this._timer = null;
    this._pending = new Map(); // seq → {resolve, reject, timer, frame (null once sent)}
    this._push = new Map(); // route → Set of handlers
    this._call = new Map(); // route → handler
    this._events = { open: new Set(), close: new Set(), error: new Set() };
    this._dial();
  }

  /** True while the websocket is open. */
  get connected() {
    return this._open;
  }

  /** Calls currently waiting for a reply or for the connection. */
  get pending() {
    return this._pending.size;
  }

  call(serviceMethod, body, opts = {}) {
    return new Promise((resolve, reject) => {
      if (this._closed) return reject(status(CODE.CONN_CLOSED, "the client is closed"));
      if (!this._open && !this.opts.reconnect) {
        return reject(status(CODE.CONN_CLOSED, "not connected"));
      }
      if (this._pending.size >= this.opts.maxPending) {
        return reject(
          new ErpcError(
            CODE.INTERNAL_SERVER_ERROR,
            "too many pending calls",
            `the client's limit of ${this.opts.maxPending} pending calls (option maxPending) is reached`,
          ),
        );
      }
      let frame;
      try {
        const codec = codecId(opts.codec);
        frame = this._frame(MTYPE.CALL, serviceMethod, opts.meta, codec, encodeBody(body, codec));
      } catch (e) {
        return reject(status(CODE.BAD_MESSAGE, String(e && e.message ? e.message : e)));
      }
      const seq = frame.seq;
      const entry = { resolve, reject, timer: null, frame: JSON.stringify(frame) };
      const timeout = opts.timeout === undefined ? this.opts.timeout : opts.timeout;
      if (timeout > 0) {
        entry.timer = setTimeout(() => {
          this._pending.delete(seq);
          reject(status(CODE.HANDLE_TIMEOUT, `no reply within ${timeout} ms`));
        }, timeout);
      }
      this._pending.set(seq, entry);
      if (this._open) this._flush(seq, entry);
    });
  }

  push(serviceMethod, body, opts = {}) {
    return new Promise((resolve, reject) => {
      if (this._closed) return reject(status(CODE.CONN_CLOSED, "the client is closed"));
      if (!this._open) return reject(status(CODE.CONN_CLOSED, "not connected"));
      let text;
      try {
        const codec = codecId(opts.codec);
        text = JSON.stringify(
          this._frame(MTYPE.PUSH, serviceMethod, opts.meta, codec, encodeBody(body, codec)),
        );
      } catch (e) {
        return reject(status(CODE.BAD_MESSAGE, String(e && e.message ? e.message : e)));
      }
      const err = this._send(text);
      if (err) reject(err);
      else resolve();
    });
  }

  onPush(route, handler) {
    let set = this._push.get(route);
    if (!set) this._push.set(route, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  onCall(route, handler) {
    this._call.set(route, handler);
    return () => {
      if (this._call.get(route) === handler) this._call.delete(route);
    };
  }

  on(event, handler) {
    const set = this._events[event];
    if (!set) throw new TypeError(`unknown event ${String(event)}`);
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Resolves when the websocket is (or next becomes) open; rejects once the client closes. */
  ready() {
    if (this._open) return Promise.resolve();
    if (this._closed) return Promise.reject(status(CODE.CONN_CLOSED, "the client is closed"));
    return new Promise((resolve, reject) => {
      const offs = [];
      const done = (f) => (x) => {
        offs.forEach((off) => off());
        f(x);
      };
      offs.push(this.on("open", done(resolve)));
      offs.push(
        this.on("close", (ev) => {
          if (ev.final) done(reject)(status(CODE.CONN_CLOSED, "the client is closed"));
        }),
      );
    });
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._timer);
    const ws = this._ws;
    this._ws = null;
    this._open = false;
    if (ws) ws.close(1000);
    this._fail(() => true, "the client is closed");
    this._emit("close", { final: true, code: 1000, reason: "closed by the client" });
  }

  // --- internals -------------------------------------------------------------------------

  _frame(mtype, serviceMethod, meta, bodyCodec, body, seq) {
    if (seq === undefined) {
      this._seq = this._seq >= 2147483647 ? 1 : this._seq + 1;
      seq = this._seq;
    }
    return {
      seq,
      mtype,
      serviceMethod: String(serviceMethod),
      meta: encodeMeta(meta),
      bodyCodec,
      body,
      xferPipe: [],
    };
  }

  _emit(event, value) {
    for (const f of [...this._events[event]]) {
      try {
        f(value);
      } catch (e) {
        if (event !== "error") this._emit("error", e);
      }
    }
  }

  /** Sends text now; an ErpcError when it cannot. */
  _send(text) {
    if (!this._open || !this._ws) return status(CODE.CONN_CLOSED, "not connected");
    if (this._ws.bufferedAmount + text.length > this.opts.maxBuffered) {
      return status(
        CODE.WRITE_FAILED,
        `the websocket send buffer is full (option maxBuffered = ${this.opts.maxBuffered} bytes)`,
      );
    }
    try {
      this._ws.send(text);
      return null;
    } catch (e) {
      return status(CODE.WRITE_FAILED, String(e && e.message ? e.message : e));
    }
  }

  _flush(seq, entry) {
    const err = this._send(entry.frame);
    if (err) {
      this._pending.delete(seq);
      clearTimeout(entry.timer);
      entry.reject(err);
    } else {
      entry.frame = null;
    }
  }

  /** Rejects the pending calls `which` selects with 102. */
  _fail(which, cause) {
    for (const [seq, entry] of [...this._pending]) {
      if (!which(entry)) continue;
      this._pending.delete(seq);
      clearTimeout(entry.timer);
      entry.reject(status(CODE.CONN_CLOSED, cause));
    }
  }

  _dial() {
    if (this._closed) return;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this._emit("error", e);
      this._dropped({ code: 1006, reason: String(e && e.message ? e.message : e) });
      return;
    }
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    const decoder = new TextDecoder();
    ws.onopen = () => {
      if (this._ws !== ws) return;
      this._open = true;
      this._attempt = 0;
      for (const [seq, entry] of [...this._pending]) {
        if (entry.frame !== null) this._flush(seq, entry);
      }
      this._emit("open", { url: this.url });
    };
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      const text = typeof ev.data === "string" ? ev.data : decoder.decode(ev.data);
      this._receive(text);
    };
    ws.onerror = () => {
      if (this._ws === ws) this._emit("error", new Error(`websocket error on ${this.url}`));
    };
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._dropped(ev);
    };
  }

  _dropped(ev) {
    const wasOpen = this._open;
    this._ws = null;
    this._open = false;
    const cause = `websocket closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`;
    // Calls already sent lose their reply; unsent ones wait for the next connection when
    // reconnecting.
    this._fail((entry) => !this.opts.reconnect || entry.frame === null, cause);
    const final = !this.opts.reconnect;
    if (wasOpen || final) this._emit("close", { final, code: ev.code, reason: ev.reason });
    if (final) {
      this._closed = true;
      return;
    }
    const base = Math.min(this.opts.maxDelay, this.opts.minDelay * 2 ** Math.min(this._attempt, 30));
    this._attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this._timer = setTimeout(() => this._dial(), delay);
  }

  _receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      this._emit("error", new Error(`not a JSON message: ${e.message}`));
      return;
    }
    if (msg === null || typeof msg !== "object") {
      this._emit("error", new Error("not a JSON object"));
      return;
    }
    const filtered = Array.isArray(msg.xferPipe) && msg.xferPipe.length > 0;
    const unfilterable = status(
      CODE.BAD_MESSAGE,
      `transfer filters ${JSON.stringify(msg.xferPipe)} are not supported by the browser client`,
    );
    if (msg.mtype === MTYPE.REPLY) {
      const entry = this._pending.get(msg.seq);
      if (!entry) return; // a late reply of a call that timed out
      this._pending.delete(msg.seq);
      clearTimeout(entry.timer);
      let err = null;
      try {
        err = parseStatus(msg.status);
      } catch (e) {
        err = status(CODE.BAD_MESSAGE, `bad status: ${e.message}`);
      }
      if (err) return entry.reject(err);
      if (filtered) return entry.reject(unfilterable);
      let body;
      try {
        body = decodeBody(msg);
      } catch (e) {
        return entry.reject(status(CODE.BAD_MESSAGE, `bad reply body: ${e.message}`));
      }
      return entry.resolve(body);
    }
    if (msg.mtype === MTYPE.PUSH) {
      const set = this._push.get(msg.serviceMethod);
      if (filtered) return this._emit("error", unfilterable);
      if (!set || set.size === 0) return;
      let body;
      try {
        body = decodeBody(msg);
      } catch (e) {
        return this._emit("error", new Error(`bad push body on ${msg.serviceMethod}: ${e.message}`));
      }
      const ctx = { serviceMethod: msg.serviceMethod, meta: new URLSearchParams(msg.meta || "") };
      for (const f of [...set]) {
        try {
          f(body, ctx);
        } catch (e) {
          this._emit("error", e);
        }
      }
      return;
    }
    if (msg.mtype === MTYPE.CALL) {
      this._serve(msg, filtered ? unfilterable : null);
      return;
    }
    this._emit("error", new Error(`unexpected message type ${msg.mtype}`));
  }

  async _serve(msg, err) {
    const handler = this._call.get(msg.serviceMethod);
    if (!err && !handler) err = status(CODE.NOT_FOUND, `no handler for ${msg.serviceMethod}`);
    let body = "";
    const codec = msg.bodyCodec === CODEC.PLAIN ? CODEC.PLAIN : CODEC.JSON;
    if (!err) {
      try {
        const ctx = { serviceMethod: msg.serviceMethod, meta: new URLSearchParams(msg.meta || "") };
        body = encodeBody(await handler(decodeBody(msg), ctx), codec);
      } catch (e) {
        err =
          e instanceof ErpcError
            ? e
            : status(CODE.INTERNAL_SERVER_ERROR, String(e && e.message ? e.message : e));
      }
    }
    const reply = this._frame(MTYPE.REPLY, "", "", err ? 0 : codec, err ? "" : body, msg.seq);
    if (err) {
      const q = new URLSearchParams();
      q.set("code", String(err.code));
      q.set("msg", err.message);
      if (err.cause !== undefined) q.set("cause", String(err.cause));
      reply.status = q.toString();
    }
    this._send(JSON.stringify(reply));
  }
}
