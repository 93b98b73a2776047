/**
 * Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol on
 * `--remote-debugging-pipe`: commands go to the browser's fd 3, answers and events come back on
 * fd 4, each a JSON message ended by a NUL byte. Enough of the protocol to open a page, evaluate
 * code in it, and see what it logged and requested — no npm dependency.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

export const CHROMIUM = "/usr/lib/chromium/chromium";
export const hasChromium = () => existsSync(CHROMIUM);

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** What a page did that a test checks: every request it made and every error it logged. */
export interface PageLog {
  readonly requests: string[];
  readonly errors: string[];
}

export class Page {
  readonly log: PageLog = { requests: [], errors: [] };

  constructor(
    private readonly browser: Browser,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Opens `url` and waits for its load event. */
  async navigate(url: string): Promise<void> {
    const loaded = this.browser.nextEvent("Page.loadEventFired", this.sessionId);
    const { errorText } = await this.send("Page.navigate", { url });
    if (errorText) throw new Error(`cannot open ${url}: ${String(errorText)}`);
    await loaded;
  }

  /** The value of an expression evaluated in the page (promises awaited), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = (await this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  }

  record(message: Message): void {
    const params = message.params ?? {};
    switch (message.method) {
      case "Network.requestWillBeSent":
        this.log.requests.push((params.request as { url: string }).url);
        break;
      case "Runtime.exceptionThrown":
        this.log.errors.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
        break;
      case "Runtime.consoleAPICalled":
        if (params.type === "error" || params.type === "assert") this.log.errors.push(`console.${String(params.type)}: ${JSON.stringify(params.args)}`);
        break;
      case "Log.entryAdded": {
        const entry = params.entry as { level: string; text: string; url?: string };
        if (entry.level === "error") this.log.errors.push(`${entry.text}${entry.url ? ` (${entry.url})` : ""}`);
        break;
      }
    }
  }
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private readonly waiters: { method: string; sessionId?: string; resolve: (params: Record<string, unknown>) => void }[] = [];
  private readonly pages = new Map<string, Page>();

  private constructor(
    private readonly process: ChildProcess,
    private readonly profile: string,
    private readonly input: Writable,
    output: Readable,
  ) {
    let buffered = "";
    output.setEncoding("utf8");
    output.on("data", (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\0"); end >= 0; end = buffered.indexOf("\0")) {
        this.receive(JSON.parse(buffered.slice(0, end)) as Message);
        buffered = buffered.slice(end + 1);
      }
    });
    process.on("exit", () => {
      for (const { reject } of this.pending.values()) reject(new Error("chromium exited"));
      this.pending.clear();
    });
  }

  /** Starts headless Chromium; `extraArgs` e.g. host-resolver rules. */
  static launch(extraArgs: readonly string[] = []): Browser {
    const profile = mkdtempSync(join(tmpdir(), "detc-chromium-"));
    const args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--enable-unsafe-swiftshader", "--no-first-run", "--remote-debugging-pipe", `--user-data-dir=${profile}`, ...extraArgs, "about:blank"];
    const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
    const [input, output] = [child.stdio[3] as Writable, child.stdio[4] as Readable];
    return new Browser(child, profile, input, output);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.input.write(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }) + "\0");
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  nextEvent(method: string, sessionId?: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push({ method, ...(sessionId && { sessionId }), resolve }));
  }

  /** A new tab, recording its requests and errors from the start. */
  async newPage(): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId as string);
    this.pages.set(page.sessionId, page);
    for (const domain of ["Page", "Runtime", "Log", "Network"]) await page.send(`${domain}.enable`);
    return page;
  }

  private receive(message: Message): void {
    if (message.id !== undefined) {
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) call?.reject(new Error(message.error.message));
      else call?.resolve(message.result ?? {});
      return;
    }
    if (message.sessionId) this.pages.get(message.sessionId)?.record(message);
    const waiter = this.waiters.findIndex((w) => w.method === message.method && (w.sessionId === undefined || w.sessionId === message.sessionId));
    if (waiter >= 0) this.waiters.splice(waiter, 1)[0]?.resolve(message.params ?? {});
  }

  async close(): Promise<void> {
    const exited = this.process.exitCode !== null || this.process.signalCode !== null ? Promise.resolve() : new Promise((resolve) => this.process.once("exit", resolve));
    this.send("Browser.close").catch(() => undefined);
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(this.profile, { recursive: true, force: true });
  }
}
