import { Component, type ErrorInfo, type ReactNode } from "react";

interface Props {
  children: ReactNode;
  /** Changing it (e.g. the location) clears a caught error. */
  resetKey?: string;
}

interface State {
  error: Error | null;
  resetKey?: string;
}

/** Catches rendering errors so that the user never gets a blank page. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, resetKey: this.props.resetKey };

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    if (props.resetKey !== state.resetKey) return { error: null, resetKey: props.resetKey };
    return null;
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("Waypost dashboard error:", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="page">
        <div className="banner banner-error" role="alert">
          <strong>This page hit a problem.</strong>
          <span>{this.state.error.message || String(this.state.error)}</span>
        </div>
        <p>
          <button type="button" className="btn btn-primary" onClick={() => this.setState({ error: null })}>
            Try again
          </button>{" "}
          <button type="button" className="btn" onClick={() => window.location.reload()}>
            Reload the dashboard
          </button>{" "}
          <a className="btn" href="/">
            Go to the start page
          </a>
        </p>
      </div>
    );
  }
}
