// A stand-in for @tryvital/vital-core-react-native's VitalCore, typed by
// the package's own declarations (VitalCoreAPI), modelling what the RN
// bridges do: status strings in the platform's order, a lower- or
// upper-case user ID, identify's round trip through authenticate, and
// rejections shaped as each bridge shapes them.

import type { VitalCoreAPI } from "../src/index.js";

type Rejection = { code?: string; message: string };

export class FakeCore {
  st: "signed-out" | "token" | "api-key" = "signed-out";
  user = "";
  ext = "";
  version = "1.8.8";
  platform: "ios" | "android" = "ios";
  /** Tokens the fake backend minted, to the user they sign in. */
  tokens = new Map<string, string>();
  /** Rejections for the next signIn calls, in order. */
  signInRejections: Rejection[] = [];
  calls: string[] = [];
  mutations = 0;
  /** When set, identify asks authenticate and then never settles (a stuck bridge). */
  identifyHangs = false;
  forbidden: string[] = [];

  private reject(r: Rejection): Error {
    return Object.assign(new Error(r.message), r.code ? { code: r.code } : { code: "EUNSPECIFIED" });
  }

  private doSignIn(token: string): void {
    const r = this.signInRejections.shift();
    if (r) throw this.reject(r);
    if (this.st === "token") throw this.reject({ code: "VitalCoreError", message: "alreadySignedIn" });
    this.st = "token";
    this.user = this.tokens.get(token) ?? "";
  }

  /** The object the engine gets, with or without identifyExternalUser (RN before 5.3.0). */
  api(withIdentify = true): VitalCoreAPI {
    const core = {
      status: async (): Promise<("configured" | "signedIn" | "useApiKey" | "useSignInToken")[]> => {
        // The bridges list the flags in different orders (iOS: signedIn first).
        if (this.st === "token") return this.platform === "ios" ? ["signedIn", "configured", "useSignInToken"] : ["configured", "signedIn", "useSignInToken"];
        if (this.st === "api-key") return ["signedIn", "configured", "useApiKey"];
        return [];
      },
      currentUserId: async () => (this.st === "signed-out" ? null : this.platform === "ios" ? this.user.toUpperCase() : this.user),
      signIn: async (token: string) => {
        this.calls.push("signIn");
        this.mutations++;
        this.doSignIn(token);
      },
      signOut: async () => {
        this.calls.push("signOut");
        this.mutations++;
        this.st = "signed-out";
        this.user = this.ext = "";
      },
      sdkVersion: async () => this.version,
      identifyExternalUser: async (externalUserId: string, authenticate: (id: string) => Promise<{ type: string; rawToken?: string }>) => {
        this.calls.push("identifyExternalUser");
        if (this.ext === externalUserId) return;
        const req = await authenticate(externalUserId);
        if (this.identifyHangs) return new Promise<void>(() => undefined);
        if (req.type !== "signInToken" || !req.rawToken) throw this.reject({ code: "VitalCoreError", message: "bad request" });
        this.mutations++;
        if (this.st === "token") {
          this.st = "signed-out";
        }
        this.doSignIn(req.rawToken);
        this.ext = externalUserId;
      },
    };
    const target: Record<string, unknown> = { ...core };
    if (!withIdentify) delete target.identifyExternalUser;
    // setUserId and configure are what the engine must never touch (§10.10).
    return new Proxy(target, {
      get: (t, k) => {
        if (k === "setUserId" || k === "configure") {
          this.forbidden.push(String(k));
          return () => {
            throw new Error("fatalError");
          };
        }
        return t[k as string];
      },
    }) as unknown as VitalCoreAPI;
  }
}
