// Sign-in for the dashboard: AuthGate loads who is signed in (GET
// /auth/me) and shows the login page (or the first-run setup page) until
// someone is; useAuth gives pages the user and their role per project so
// controls the role cannot use are disabled with a reason.
import { createContext, useCallback, useContext, useEffect, useState, type FormEvent, type ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";
import { accounts, type Me, type Role } from "./api/accounts";
import { ApiError, UNAUTHENTICATED_EVENT, setCsrfToken } from "./api/client";
import { ErrorBanner } from "./components/ErrorBanner";
import { Loading } from "./components/Loading";

interface AuthValue {
  me: Me;
  signOut: () => Promise<void>;
  /** The signed-in user's role in project ("" when none). */
  role: (project: string) => Role | "";
}

const AuthContext = createContext<AuthValue | null>(null);

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error("useAuth outside AuthGate");
  return v;
}

const rank: Record<string, number> = { viewer: 1, editor: 2, admin: 3 };

/** Whether the user may do what needs role in project, and if not, why. */
export function useCan(project: string, need: Role): { ok: boolean; reason: string } {
  const ctx = useContext(AuthContext);
  if (!ctx) return { ok: true, reason: "" }; // outside the gate (unit tests): no restriction
  const have = ctx.role(project);
  const ok = (rank[have] ?? 0) >= rank[need];
  return { ok, reason: ok ? "" : `Needs the ${need} role in this project (you are ${have ? `a ${have}` : "not a member"}).` };
}

type State = { status: "loading" } | { status: "signedIn"; me: Me } | { status: "signedOut"; setup: boolean; sso: boolean };

export function AuthGate({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading" });
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const me = await accounts.me();
      setCsrfToken(me.csrf_token ?? "");
      setState({ status: "signedIn", me });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        const s = await accounts.setupStatus().catch(() => ({ needed: false, sso: false }));
        setState({ status: "signedOut", setup: s.needed, sso: s.sso });
      } else setError(e);
    }
  }, []);

  useEffect(() => {
    void load();
    const onExpired = () => setState((s) => (s.status === "signedIn" ? { status: "signedOut", setup: false, sso: s.me.sso } : s));
    window.addEventListener(UNAUTHENTICATED_EVENT, onExpired);
    return () => window.removeEventListener(UNAUTHENTICATED_EVENT, onExpired);
  }, [load]);

  const signedIn = (me: Me) => {
    setCsrfToken(me.csrf_token ?? "");
    setState({ status: "signedIn", me });
  };

  if (error) return <ErrorBanner error={error} onRetry={() => (setError(null), void load())} />;
  if (state.status === "loading") return <Loading />;
  if (state.status === "signedOut") {
    return state.setup ? <SetupPage onDone={signedIn} /> : <LoginPage sso={state.sso} onDone={signedIn} />;
  }
  const value: AuthValue = {
    me: state.me,
    role: (p) => state.me.projects[p] ?? "",
    signOut: async () => {
      await accounts.logout().catch(() => undefined);
      setCsrfToken("");
      setState({ status: "signedOut", setup: false, sso: state.me.sso });
    },
  };
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Waypost`;
  }, [title]);
  return (
    <main id="main" className="page auth-page">
      <section className="card auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title">{title}</h1>
        {children}
      </section>
    </main>
  );
}

function LoginPage({ sso, onDone }: { sso: boolean; onDone: (me: Me) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const location = useLocation();
  const ssoError = new URLSearchParams(location.search).get("sso_error");
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await accounts.login(email, password));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthFrame title="Sign in to Waypost">
      {ssoError && (
        <div className="banner banner-error" role="alert">
          <span>Single sign-on failed: {ssoError}</span>
        </div>
      )}
      <ErrorBanner error={error} />
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span className="field-label">Email</span>
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {sso && (
        <p>
          <a className="btn" href="/api/v1/auth/oidc/login">
            Sign in with SSO
          </a>
        </p>
      )}
    </AuthFrame>
  );
}

/** First-run setup: the link in the manager log (/setup?token=...) creates the first owner. */
function SetupPage({ onDone }: { onDone: (me: Me) => void }) {
  const location = useLocation();
  const navigate = useNavigate();
  const [token, setToken] = useState(new URLSearchParams(location.search).get("token") ?? "");
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    try {
      const me = await accounts.setup({ token, email, name, password });
      navigate("/", { replace: true });
      onDone(me);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <AuthFrame title="Set up Waypost">
      <p className="muted">
        This instance has no accounts yet. Create the first owner with the setup token printed in the manager log (open the link it prints), or run{" "}
        <code>waypost users create --owner --email you@example.com</code>.
      </p>
      <ErrorBanner error={error} />
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span className="field-label">Setup token</span>
          <input required value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
        </label>
        <label className="field">
          <span className="field-label">Email</span>
          <input type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />
        </label>
        <label className="field">
          <span className="field-label">Password (at least 10 characters)</span>
          <input type="password" required minLength={10} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit">
          Create owner and sign in
        </button>
      </form>
    </AuthFrame>
  );
}
