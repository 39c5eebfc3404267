/**
 * @module lib/session
 * The signed-in user's token, kept in localStorage so a reload (or a second tab) stays signed in.
 * Tokens from local sign-in and pasted Supabase tokens are kept the same way; an expired one is
 * dropped on read. React reads the session through `useSession` (an external store), so signing in
 * or out in one tab updates every component, and other tabs through the `storage` event.
 */
import { useSyncExternalStore } from "react";

export interface Session {
  accessToken: string;
  /** Milliseconds since the epoch; undefined when unknown (a pasted token without `exp`). */
  expiresAt: number | undefined;
  /** Where the token came from: local sign-in/up, or pasted from Supabase. */
  source: "local" | "supabase";
}

const KEY = "stowage-diagrams.session";
const listeners = new Set<() => void>();
let cached: { raw: string | null; session: Session | null } = { raw: null, session: null };

function read(): Session | null {
  const raw = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  if (raw === cached.raw) return cached.session;
  let session: Session | null = null;
  try {
    session = raw ? (JSON.parse(raw) as Session) : null;
  } catch {}
  cached = { raw, session };
  return session;
}

function live(session: Session | null): Session | null {
  if (!session) return null;
  // A minute of slack: a token about to expire would fail the next request anyway.
  if (session.expiresAt !== undefined && session.expiresAt < Date.now() + 60_000) return null;
  return session;
}

function notify() {
  for (const l of listeners) l();
}

export function currentToken(): string | null {
  return live(read())?.accessToken ?? null;
}

let signedOutOnPurpose = false;

export function saveSession(session: Session): void {
  signedOutOnPurpose = false;
  localStorage.setItem(KEY, JSON.stringify(session));
  notify();
}

/**
 * Drops the session. `onPurpose`: the user signed out, so signing in again starts at Home (not on
 * the page they left, which may belong to someone else's session); otherwise (expired token) the
 * sign-in page brings them back where they were.
 */
export function clearSession(onPurpose = false): void {
  signedOutOnPurpose = onPurpose;
  localStorage.removeItem(KEY);
  notify();
}

export function wasSignedOutOnPurpose(): boolean {
  return signedOutOnPurpose;
}

/** `exp` of a JWT (seconds) as milliseconds; undefined when the token has none or is not a JWT. */
export function jwtExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

/** The current session (null when signed out or expired); re-renders on sign-in/out in any tab. */
export function useSession(): Session | null {
  return live(useSyncExternalStore(subscribe, read, () => null));
}
