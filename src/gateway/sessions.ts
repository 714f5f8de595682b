/**
 * Who is signed in to the gateway: browser sessions (a cookie), CLI tokens (bearer) issued through a device-style
 * login, and pending OpenID Connect logins. In memory: a gateway restart signs everyone out, which is safe.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A person as the identity provider vouched for them. */
export interface Person {
  subject: string;
  name: string;
  /** The identity provider's groups, as signed into assertions. */
  idpGroups: string[];
}

export interface Session extends Person {
  id: string;
  /** Guards the inbox forms against cross-site posts. */
  csrf: string;
  expiresAt: number;
}

interface PendingLogin {
  verifier: string;
  nonce: string;
  next: string;
  expiresAt: number;
}

interface DeviceLogin {
  deviceCode: string;
  userCode: string;
  client: string;
  expiresAt: number;
  token?: string;
}

const token = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** How long a browser session or a CLI token lasts. */
export const SESSION_TTL_MS = 12 * 3600_000;
const LOGIN_TTL_MS = 10 * 60_000;

/** Compares secrets in constant time. */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The gateway's in-memory sign-in state. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly logins = new Map<string, PendingLogin>();
  private readonly devices = new Map<string, DeviceLogin>();

  constructor(private readonly now: () => number = Date.now) {}

  private sweep(): void {
    const t = this.now();
    for (const m of [this.sessions, this.logins, this.devices] as Map<string, { expiresAt: number }>[]) {
      for (const [k, v] of m) if (v.expiresAt <= t) m.delete(k);
    }
  }

  /** Opens a session (browser cookie or CLI bearer token) for a person. */
  open(person: Person): Session {
    this.sweep();
    const s: Session = { ...person, id: token(), csrf: token(18), expiresAt: this.now() + SESSION_TTL_MS };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s || s.expiresAt <= this.now()) return undefined;
    return s;
  }

  close(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Remembers an OpenID Connect login in progress under its `state`. */
  beginLogin(state: string, login: Omit<PendingLogin, 'expiresAt'>): void {
    this.sweep();
    this.logins.set(state, { ...login, expiresAt: this.now() + LOGIN_TTL_MS });
  }

  /** Takes a pending login by its state (once). */
  takeLogin(state: string | null): PendingLogin | undefined {
    if (!state) return undefined;
    const l = this.logins.get(state);
    this.logins.delete(state);
    return l && l.expiresAt > this.now() ? l : undefined;
  }

  /** Starts a CLI login: the CLI polls with the device code, the person confirms the user code in a browser. */
  beginDevice(client: string): DeviceLogin {
    this.sweep();
    const userCode = randomBytes(4).toString('hex').toUpperCase();
    const d: DeviceLogin = { deviceCode: token(), userCode, client, expiresAt: this.now() + LOGIN_TTL_MS };
    this.devices.set(userCode, d);
    return d;
  }

  /** The pending CLI login with this user code. */
  device(userCode: string | null): DeviceLogin | undefined {
    const d = userCode ? this.devices.get(userCode.toUpperCase()) : undefined;
    return d && d.expiresAt > this.now() && !d.token ? d : undefined;
  }

  /** The signed-in person confirms a CLI login: the CLI gets its own session. */
  confirmDevice(userCode: string, person: Person): boolean {
    const d = this.device(userCode);
    if (!d) return false;
    d.token = this.open(person).id;
    return true;
  }

  /** What the polling CLI gets: its token once confirmed (once), `pending` before, undefined when unknown or expired. */
  pollDevice(deviceCode: string): { token: string } | 'pending' | undefined {
    for (const [code, d] of this.devices) {
      if (!sameSecret(d.deviceCode, deviceCode)) continue;
      if (!d.token) return 'pending';
      this.devices.delete(code);
      return { token: d.token };
    }
    return undefined;
  }
}
