import { useEffect, useMemo } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate, useParams, Link, Outlet } from "react-router";
import { api } from "./api/endpoints";
import { ApiError } from "./api/client";
import { useApi } from "./lib/useApi";
import { ErrorBanner } from "./components/ErrorBanner";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ToastProvider } from "./components/Toast";
import { Loading } from "./components/Loading";
import { DEFAULT_SECTION, sections } from "./routes";
import { WorkspaceContext, base, pickEnvironment, recall, remember, type Workspace } from "./workspace";
import { AuthGate, useAuth } from "./auth";
import { AccountPage, SecurityLogPage, UsersPage } from "./pages/account/AccountPages";

export function App() {
  const location = useLocation();
  return (
    <ToastProvider>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <ErrorBoundary resetKey={location.pathname}>
        <AuthGate>
        <Routes>
          <Route path="/" element={<Home />} />
          <Route path="/setup" element={<Navigate to="/" replace />} />
          <Route path="/account" element={<Bare><AccountPage /></Bare>} />
          <Route path="/users" element={<Bare><UsersPage /></Bare>} />
          <Route path="/security" element={<Bare><SecurityLogPage /></Bare>} />
          <Route path="/p/:project" element={<ProjectHome />} />
          <Route path="/p/:project/:env" element={<Shell />}>
            <Route index element={<Navigate to={DEFAULT_SECTION} replace />} />
            {sections.map((s) => (
              <Route key={s.path} path={s.path} element={s.element} />
            ))}
            <Route path="*" element={<NotFound />} />
          </Route>
          <Route path="*" element={<Bare><NotFound /></Bare>} />
        </Routes>
        </AuthGate>
      </ErrorBoundary>
    </ToastProvider>
  );
}

function Bare({ children }: { children: React.ReactNode }) {
  return (
    <>
      <header className="topbar">
        <Brand />
        <UserMenu />
      </header>
      <main id="main" className="page">
        {children}
      </main>
    </>
  );
}

function Brand() {
  return (
    <Link to="/" className="brand" aria-label="Waypost home">
      <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="currentColor" />
        <path d="M9 8v16M9 9h12l-3 4 3 4H9" stroke="white" strokeWidth="2.5" fill="none" strokeLinejoin="round" />
      </svg>
      <span>Waypost</span>
    </Link>
  );
}

/** "/" opens the last used project, else the first. */
function Home() {
  const projects = useApi((s) => api.listProjects(s), []);
  if (projects.error) {
    return (
      <Bare>
        <ErrorBanner error={projects.error} onRetry={projects.reload} />
      </Bare>
    );
  }
  if (!projects.data) return <Bare><Loading /></Bare>;
  const items = projects.data.items;
  if (items.length === 0) {
    return (
      <Bare>
        <h1>No projects yet</h1>
        <p>
          Create one with the API: <code>POST /api/v1/projects {'{"key":"my-app","name":"My app"}'}</code>, or run{" "}
          <code>waypost migrate</code>, which creates the default project.
        </p>
      </Bare>
    );
  }
  const last = recall().project;
  const key = items.find((p) => p.key === last)?.key ?? items.find((p) => p.key === "default")?.key ?? items[0].key;
  return <Navigate to={`/p/${encodeURIComponent(key)}`} replace />;
}

/** "/p/:project" opens an environment of it. */
function ProjectHome() {
  const { project = "" } = useParams();
  const envs = useApi((s) => api.listEnvironments(project, s), [project]);
  if (envs.error) {
    return (
      <Bare>
        <ErrorBanner error={envs.error} onRetry={envs.reload} />
        <p>
          <Link to="/">Back to the start page</Link>
        </p>
      </Bare>
    );
  }
  if (!envs.data) return <Bare><Loading /></Bare>;
  const env = pickEnvironment(envs.data.items, project);
  if (!env) {
    return (
      <Bare>
        <h1>Project “{project}” has no environments</h1>
        <p>
          Create one with <code>POST /api/v1/projects/{project}/environments</code>.
        </p>
      </Bare>
    );
  }
  return <Navigate to={`${base(project, env)}/${DEFAULT_SECTION}`} replace />;
}

/** Header, switchers and navigation around every project page. */
function Shell() {
  const { project = "", env = "" } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const projects = useApi((s) => api.listProjects(s), []);
  const envs = useApi((s) => api.listEnvironments(project, s), [project]);

  useEffect(() => {
    if (envs.data?.items.some((e) => e.key === env)) remember(project, env);
  }, [project, env, envs.data]);

  const prefix = base(project, env);
  const rest = location.pathname.startsWith(prefix) ? location.pathname.slice(prefix.length).replace(/^\//, "") : "";

  const environment = envs.data?.items.find((e) => e.key === env);
  const ws: Workspace | null = useMemo(
    () =>
      environment && projects.data && envs.data
        ? {
            project,
            env,
            projects: projects.data.items,
            environments: envs.data.items,
            environment,
            to: (sub: string) => `${prefix}/${sub.replace(/^\//, "")}`,
          }
        : null,
    [environment, projects.data, envs.data, project, env, prefix],
  );

  const switchEnv = (next: string) => navigate(`${base(project, next)}/${rest}${location.search}`);
  const switchProject = (next: string) => navigate(`/p/${encodeURIComponent(next)}`);

  let body: React.ReactNode;
  if (envs.error || projects.error) {
    const err = envs.error ?? projects.error;
    body = (
      <>
        <ErrorBanner error={err} onRetry={() => (envs.reload(), projects.reload())} />
        {err instanceof ApiError && err.status === 404 && (
          <p>
            <Link to="/">Open another project</Link>
          </p>
        )}
      </>
    );
  } else if (!ws) {
    body =
      envs.data && !environment ? (
        <>
          <div className="banner banner-error" role="alert">
            <strong>Not found</strong>
            <span>
              Project “{project}” has no environment “{env}”.
            </span>
          </div>
          <p>
            Open{" "}
            {envs.data.items.map((e, i) => (
              <span key={e.key}>
                {i > 0 && ", "}
                <Link to={`${base(project, e.key)}/${rest}`}>{e.name}</Link>
              </span>
            ))}
            .
          </p>
        </>
      ) : (
        <Loading />
      );
  } else {
    body = (
      <WorkspaceContext.Provider value={ws}>
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </WorkspaceContext.Provider>
    );
  }

  const isProd = env === "production";
  return (
    <>
      <header className={isProd ? "topbar topbar-prod" : "topbar"}>
        <Brand />
        <nav aria-label="Main" className="nav">
          {sections
            .filter((s) => s.nav)
            .map((s) => (
              <NavLink
                key={s.path}
                to={`${prefix}/${s.path}`}
                className={() => (s.matches?.test(rest) ? "nav-link active" : "nav-link")}
                aria-current={s.matches?.test(rest) ? "page" : undefined}
              >
                {s.nav}
              </NavLink>
            ))}
        </nav>
        <div className="switchers">
          <label className="switcher">
            <span>Project</span>
            <select value={project} onChange={(e) => switchProject(e.target.value)} aria-label="Project">
              {(projects.data?.items ?? [{ key: project, name: project }]).map((p) => (
                <option key={p.key} value={p.key}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label className={isProd ? "switcher switcher-prod" : "switcher"}>
            <span>Environment</span>
            <select value={env} onChange={(e) => switchEnv(e.target.value)} aria-label="Environment">
              {(envs.data?.items ?? [{ key: env, name: env }]).map((e) => (
                <option key={e.key} value={e.key}>
                  {e.name}
                </option>
              ))}
              {envs.data && !environment && <option value={env}>{env} (unknown)</option>}
            </select>
          </label>
        </div>
        <UserMenu />
      </header>
      <main id="main" className="page" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

/** The signed-in user's menu: account, owners' pages, sign out. */
function UserMenu() {
  const { me, signOut } = useAuth();
  const navigate = useNavigate();
  const who = me.user?.name || me.user?.email || me.token || "API token";
  return (
    <details className="user-menu">
      <summary aria-label={`Account menu for ${who}`}>{who}</summary>
      <div className="user-menu-items">
        <span className="muted small">{me.user?.email}</span>
        <Link to="/account">Your account and tokens</Link>
        {me.owner && <Link to="/users">Users</Link>}
        {me.owner && <Link to="/security">Security log</Link>}
        <button
          className="btn"
          type="button"
          onClick={async () => {
            await signOut();
            navigate("/");
          }}
        >
          Sign out
        </button>
      </div>
    </details>
  );
}

function NotFound() {
  return (
    <div>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/">Go to the start page</Link>.
      </p>
    </div>
  );
}
