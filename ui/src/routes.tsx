// The dashboard's route table and navigation, in one place. Pages inside a
// project live under /p/:project/:env/<path>. To add a section (experiments,
// metrics, events connections), add its page here: an entry with nav: true
// gets a header link; children routes (a detail page) go in the same list.
import type { ReactNode } from "react";
import { FlagsPage } from "./pages/FlagsPage";
import { CreateFlagPage } from "./pages/CreateFlagPage";
import { FlagPage } from "./pages/FlagPage";
import { EventsPage } from "./pages/EventsPage";
import { SdkKeysPage } from "./pages/SdkKeysPage";
import { MetricsPage } from "./pages/experiments/MetricsPage";
import { MetricEditPage } from "./pages/experiments/MetricEditPage";
import { ExperimentsPage } from "./pages/experiments/ExperimentsPage";
import { ExperimentPage } from "./pages/experiments/ExperimentPage";
import { NewExperimentPage } from "./pages/experiments/NewExperimentPage";
import { ConnectionsPage } from "./pages/experiments/ConnectionsPage";
import { MembersPage } from "./pages/account/AccountPages";
import { SegmentsPage } from "./pages/targeting/SegmentsPage";
import { SegmentPage } from "./pages/targeting/SegmentPage";
import { SafeRolloutPage } from "./pages/saferollouts/SafeRollouts";
import { NotificationWebhooksPage } from "./pages/saferollouts/NotificationWebhooks";

export interface Section {
  /** Path below /p/:project/:env/ (React Router syntax). */
  path: string;
  element: ReactNode;
  /** Header navigation label; absent for pages reached from another page. */
  nav?: string;
  /** Paths (below the env) that highlight this nav item. */
  matches?: RegExp;
}

export const sections: Section[] = [
  { path: "flags", element: <FlagsPage />, nav: "Flags", matches: /^flags(\/|$)/ },
  { path: "flags/new", element: <CreateFlagPage /> },
  { path: "flags/:flag", element: <FlagPage /> },
  { path: "segments", element: <SegmentsPage />, nav: "Segments", matches: /^segments(\/|$)/ },
  { path: "segments/new", element: <SegmentPage /> },
  { path: "segments/:segment", element: <SegmentPage /> },
  { path: "experiments", element: <ExperimentsPage />, nav: "Experiments", matches: /^experiments(\/|$)/ },
  { path: "experiments/new", element: <NewExperimentPage /> },
  { path: "experiments/:experiment", element: <ExperimentPage /> },
  { path: "metrics", element: <MetricsPage />, nav: "Metrics", matches: /^metrics(\/|$)/ },
  { path: "metrics/new", element: <MetricEditPage /> },
  { path: "metrics/:metric", element: <MetricEditPage /> },
  { path: "events", element: <EventsPage />, nav: "Events log", matches: /^events(\/|$)/ },
  { path: "sdk-keys", element: <SdkKeysPage />, nav: "SDK keys", matches: /^sdk-keys(\/|$)/ },
  { path: "connections", element: <ConnectionsPage />, nav: "Events DB", matches: /^connections(\/|$)/ },
  { path: "members", element: <MembersPage />, nav: "Members", matches: /^members(\/|$)/ },
  { path: "safe-rollouts/:rollout", element: <SafeRolloutPage /> },
  { path: "notifications", element: <NotificationWebhooksPage />, nav: "Notifications", matches: /^notifications(\/|$)/ },
];

/** Where a project's pages start. */
export const DEFAULT_SECTION = "flags";
