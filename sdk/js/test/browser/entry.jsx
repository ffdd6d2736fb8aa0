// Bundled by esbuild for the Chromium tests: exposes the SDKs and two demo
// apps (plain SDK and React) on window.
import { WaypostBrowserClient } from "@waypost/browser";
import { WaypostProvider, useFlag, useFlagDetail } from "@waypost/react";
import { useRef } from "react";
import { createRoot, hydrateRoot } from "react-dom/client";
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

window.errors = [];
window.addEventListener("error", (e) => window.errors.push(String(e.message)));

/** Plain SDK demo: renders `<flag>=<value>` into #sdk and updates it on change. */
window.mountSdkDemo = (opts, flag) => {
  const el = document.getElementById("sdk");
  const client = new WaypostBrowserClient(opts);
  const render = () => {
    const d = client.getBooleanDetail(flag, false);
    el.textContent = `${flag}=${d.value}`;
    el.dataset.source = client.source;
    el.dataset.reason = d.reason;
  };
  render();
  client.on("change", render);
  window.client = client;
  return { source: client.source, text: el.textContent };
};

function Demo({ flag }) {
  const renders = useRef(0);
  renders.current++;
  const on = useFlag(flag, false);
  const banner = useFlagDetail("banner", "default banner");
  return (
    <div>
      <span id="flag">{`${flag}=${on}`}</span>
      <span id="banner">{banner.value}</span>
      <span id="reason">{banner.reason}</span>
      <span id="renders">{renders.current}</span>
    </div>
  );
}
window.Demo = Demo;

/** React demo: <WaypostProvider> + hooks. */
window.mountReactDemo = (opts, flag, bootstrap) => {
  const client = new WaypostBrowserClient(opts);
  window.reactClient = client;
  const app = (
    <WaypostProvider client={client} bootstrap={bootstrap}>
      <Demo flag={flag} />
    </WaypostProvider>
  );
  const root = document.getElementById("root");
  if (root.hasChildNodes()) hydrateRoot(root, app, { onRecoverableError: (e) => window.errors.push("hydration: " + e.message) });
  else createRoot(root).render(app);
};

/** The official OpenFeature web SDK with the OFREP web provider. */
window.startOpenFeature = async (baseUrl, clientKey, targetingKey, flag) => {
  window.ofEvents = [];
  const provider = new OFREPWebProvider({ baseUrl, headers: [["Authorization", `Bearer ${clientKey}`]], cacheMode: "disabled" });
  await OpenFeature.setContext({ targetingKey });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  client.addHandler(ProviderEvents.ConfigurationChanged, (e) => window.ofEvents.push(e?.flagsChanged ?? []));
  window.ofClient = client;
  return client.getBooleanDetails(flag, false);
};
