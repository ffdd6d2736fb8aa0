// Copy-ready code for using a flag. Keep the SDK calls here in one place, in
// step with the Go SDK (github.com/waypost/waypost/sdk) and OpenFeature.
import type { Flag } from "../api/types";

function goLiteral(flag: Flag, v: unknown): string {
  switch (flag.kind) {
    case "boolean":
      return v === true ? "true" : "false";
    case "number":
      return typeof v === "number" ? String(v) : "0";
    case "string":
      return JSON.stringify(typeof v === "string" ? v : "");
    default:
      return "nil";
  }
}

function offValue(flag: Flag): unknown {
  const off = flag.variants.find((v) => v.key === "off") ?? flag.variants[0];
  return off?.value;
}

export function goSnippet(flag: Flag): string {
  const def = goLiteral(flag, offValue(flag));
  const call: Record<Flag["kind"], string> = {
    boolean: `if client.Bool(${JSON.stringify(flag.key)}, userID, ${def}) {\n\t// new behaviour\n}`,
    string: `v := client.String(${JSON.stringify(flag.key)}, userID, ${def})`,
    number: `v := client.Float(${JSON.stringify(flag.key)}, userID, ${def})`,
    json: `v := client.JSON(${JSON.stringify(flag.key)}, userID, nil) // json.RawMessage`,
  };
  return `import waypost "github.com/waypost/waypost/sdk"

// Once, at start-up, with a server SDK key of this environment:
client, err := waypost.New(ctx, waypost.Config{
\tProviderURL: "http://localhost:8081",
\tSDKKey:      os.Getenv("WAYPOST_SDK_KEY"),
})
defer client.Close()

${call[flag.kind]}`;
}

export function openFeatureGoSnippet(flag: Flag): string {
  const def = goLiteral(flag, offValue(flag));
  const method: Record<Flag["kind"], string> = {
    boolean: "BooleanValue",
    string: "StringValue",
    number: "FloatValue",
    json: "ObjectValue",
  };
  return `import (
\t"github.com/open-feature/go-sdk/openfeature"
\twaypost "github.com/waypost/waypost/sdk"
\twpof "github.com/waypost/waypost/sdk/openfeature"
)

// Once, at start-up (client is your *waypost.Client, see "Go SDK"):
err = openfeature.SetProviderAndWait(wpof.NewProvider(client))
of := openfeature.NewDefaultClient()

v, err := of.${method[flag.kind]}(ctx, ${JSON.stringify(flag.key)}, ${def},
\topenfeature.NewEvaluationContext(userID, nil))`;
}

export function openFeatureWebSnippet(flag: Flag): string {
  const off = offValue(flag);
  const def = flag.kind === "json" ? "{}" : JSON.stringify(off ?? null);
  const method: Record<Flag["kind"], string> = {
    boolean: "getBooleanValue",
    string: "getStringValue",
    number: "getNumberValue",
    json: "getObjectValue",
  };
  return `import { OpenFeature } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

// Once: a client SDK key (wpc_…) is safe in browsers.
await OpenFeature.setContext({ targetingKey: userId });
await OpenFeature.setProviderAndWait(new OFREPWebProvider({
  baseUrl: "http://localhost:8081",
  headers: [["Authorization", "Bearer " + WAYPOST_CLIENT_KEY]],
}));

const value = OpenFeature.getClient().${method[flag.kind]}(${JSON.stringify(flag.key)}, ${def});`;
}
