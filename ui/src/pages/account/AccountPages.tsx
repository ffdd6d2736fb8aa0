// Pages for accounts: the project's members, the signed-in user's tokens
// and password, and (owners) users and the security log.
import { useEffect, useState, type FormEvent } from "react";
import { accounts, type APIToken, type Role } from "../../api/accounts";
import { useApi } from "../../lib/useApi";
import { dateTime } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { CopyButton } from "../../components/CopyButton";
import { Field } from "../../components/Field";
import { useToast } from "../../components/Toast";
import { useAuth, useCan } from "../../auth";
import { useWorkspace } from "../../workspace";

const roles: Role[] = ["viewer", "editor", "admin"];

function useTitle(t: string) {
  useEffect(() => {
    document.title = `${t} · Waypost`;
  }, [t]);
}

/** Members of the selected project; admins give and take roles. */
export function MembersPage() {
  const ws = useWorkspace();
  useTitle(`Members · ${ws.project}`);
  const members = useApi((s) => accounts.listMembers(ws.project, s), [ws.project]);
  const can = useCan(ws.project, "admin");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  const add = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    try {
      await accounts.setMember(ws.project, email, role);
      toast(`${email} is now ${role}`);
      setEmail("");
      members.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <h1>Members</h1>
      <p className="muted">Viewers read everything but secrets; editors change flags, assignments, metrics and experiments; admins also manage members, SDK keys, events connections and environments.</p>
      <section className="card" aria-labelledby="add-member">
        <h2 id="add-member">Give someone a role</h2>
        {!can.ok && <p className="role-note">{can.reason}</p>}
        <ErrorBanner error={error} />
        <form onSubmit={add} className="row">
          <label className="field">
            <span className="field-label">Email</span>
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} disabled={!can.ok} />
          </label>
          <Field label="Role">
            <select value={role} onChange={(e) => setRole(e.target.value as Role)} disabled={!can.ok}>
              {roles.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </Field>
          <button className="btn btn-primary" type="submit" disabled={!can.ok} title={can.reason || undefined}>
            Save role
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">People</h2>
        <ErrorBanner error={members.error} onRetry={members.reload} />
        {!members.data ? (
          <Loading />
        ) : members.data.items.length === 0 ? (
          <p className="empty small">No members yet. Instance owners are admins in every project.</p>
        ) : (
          <table className="table">
            <caption className="sr-only">Members of {ws.project}</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => (
                <tr key={m.user_id}>
                  <td>{m.email}</td>
                  <td>{m.name}</td>
                  <td>{m.role}</td>
                  <td>
                    <button
                      className="btn btn-small"
                      disabled={!can.ok}
                      title={can.reason || undefined}
                      aria-label={`Remove ${m.email}`}
                      onClick={async () => {
                        try {
                          await accounts.removeMember(ws.project, m.user_id);
                          members.reload();
                        } catch (e) {
                          setError(e);
                        }
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/** The signed-in user's API tokens and password. */
export function AccountPage() {
  useTitle("Your account");
  const { me } = useAuth();
  const tokens = useApi((s) => accounts.listTokens(s), []);
  const [created, setCreated] = useState<APIToken | null>(null);
  const [name, setName] = useState("");
  const [readOnly, setReadOnly] = useState(false);
  const [project, setProject] = useState("");
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  const create = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    try {
      const t = await accounts.createToken({ name, read_only: readOnly, project });
      setCreated(t);
      setName("");
      tokens.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <h1>Your account</h1>
      <p>
        Signed in as <strong>{me.user?.email}</strong>
        {me.owner ? " (instance owner)" : ""}.
      </p>
      <section className="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">API tokens</h2>
        <p className="muted">
          For scripts and CI: send <code>Authorization: Bearer wpt_…</code>. A token acts as you; it can be read-only or limited to one project. It is shown
          once.
        </p>
        {created?.secret && (
          <div className="banner banner-success" role="status">
            <span>
              New token <code data-testid="new-token">{created.secret}</code>
            </span>
            <CopyButton text={created.secret} label="Copy token" />
          </div>
        )}
        <ErrorBanner error={error} />
        <form onSubmit={create} className="row">
          <label className="field">
            <span className="field-label">Token name</span>
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <Field label="Project (optional)">
            <select value={project} onChange={(e) => setProject(e.target.value)}>
              <option value="">All my projects</option>
              {Object.keys(me.projects).map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} /> Read-only
          </label>
          <button className="btn btn-primary" type="submit">
            Create token
          </button>
        </form>
        <ErrorBanner error={tokens.error} onRetry={tokens.reload} />
        {tokens.data && tokens.data.items.length > 0 && (
          <table className="table">
            <caption className="sr-only">Your API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scope</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>
                    {t.project || "all projects"}
                    {t.read_only ? ", read-only" : ""}
                  </td>
                  <td>{t.last_used_at ? dateTime(t.last_used_at) : "never"}</td>
                  <td>
                    {t.revoked_at ? (
                      "revoked"
                    ) : (
                      <button
                        className="btn btn-small"
                        aria-label={`Revoke ${t.name}`}
                        onClick={async () => {
                          await accounts.revokeToken(t.id).catch(setError);
                          tokens.reload();
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <PasswordCard onChanged={() => toast("Password changed")} />
    </div>
  );
}

function PasswordCard({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="card" aria-labelledby="pw-title">
      <h2 id="pw-title">Password</h2>
      <ErrorBanner error={error} />
      <form
        className="row"
        onSubmit={async (ev) => {
          ev.preventDefault();
          setError(null);
          try {
            await accounts.changePassword(current, next);
            setCurrent("");
            setNext("");
            onChanged();
          } catch (e) {
            setError(e);
          }
        }}
      >
        <label className="field">
          <span className="field-label">Current password</span>
          <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">New password</span>
          <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <button className="btn" type="submit">
          Change password
        </button>
      </form>
    </section>
  );
}

/** Owners: every account; create, disable, promote. */
export function UsersPage() {
  useTitle("Users");
  const { me } = useAuth();
  const users = useApi((s) => accounts.listUsers(s), []);
  const [form, setForm] = useState({ email: "", name: "", password: "", owner: false });
  const [error, setError] = useState<unknown>(null);
  if (!me.owner) return <p className="role-note">Only instance owners manage users.</p>;
  return (
    <div>
      <h1>Users</h1>
      <section className="card" aria-labelledby="new-user">
        <h2 id="new-user">New user</h2>
        <ErrorBanner error={error} />
        <form
          className="row"
          onSubmit={async (ev) => {
            ev.preventDefault();
            setError(null);
            try {
              await accounts.createUser(form);
              setForm({ email: "", name: "", password: "", owner: false });
              users.reload();
            } catch (e) {
              setError(e);
            }
          }}
        >
          <label className="field">
            <span className="field-label">Email</span>
            <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          </label>
          <label className="field">
            <span className="field-label">Name</span>
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </label>
          <label className="field">
            <span className="field-label">Password (empty: SSO only)</span>
            <input type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={form.owner} onChange={(e) => setForm({ ...form, owner: e.target.checked })} /> Instance owner
          </label>
          <button className="btn btn-primary" type="submit">
            Create user
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="users-title">
        <h2 id="users-title">Accounts</h2>
        <ErrorBanner error={users.error} onRetry={users.reload} />
        {!users.data ? (
          <Loading />
        ) : (
          <table className="table">
            <caption className="sr-only">Users</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Owner</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((u) => (
                <tr key={u.id}>
                  <td>{u.email}</td>
                  <td>{u.name}</td>
                  <td>{u.owner ? "yes" : "no"}</td>
                  <td>{u.last_login_at ? dateTime(u.last_login_at) : "never"}</td>
                  <td>
                    <button
                      className="btn btn-small"
                      disabled={u.id === me.user?.id}
                      title={u.id === me.user?.id ? "You cannot disable yourself" : undefined}
                      aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.email}`}
                      onClick={async () => {
                        await accounts.updateUser(u.id, { disabled: !u.disabled }).catch(setError);
                        users.reload();
                      }}
                    >
                      {u.disabled ? "Enable" : "Disable"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/** Owners: the security log. */
export function SecurityLogPage() {
  useTitle("Security log");
  const { me } = useAuth();
  const events = useApi((s) => accounts.securityEvents(s), []);
  if (!me.owner) return <p className="role-note">Only instance owners read the security log.</p>;
  return (
    <div>
      <h1>Security log</h1>
      <p className="muted">Sign-ins, failed sign-ins, role changes, users, and API tokens created or revoked. Newest first.</p>
      <ErrorBanner error={events.error} onRetry={events.reload} />
      {!events.data ? (
        <Loading />
      ) : (
        <table className="table">
          <caption className="sr-only">Security events</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">By</th>
              <th scope="col">Subject</th>
              <th scope="col">Project</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.at)}</td>
                <td>{e.type}</td>
                <td>{e.actor}</td>
                <td>{e.subject}</td>
                <td>{e.project ?? ""}</td>
                <td>{e.client_addr}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
