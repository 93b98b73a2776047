/** A static file server on 127.0.0.1 for browser tests: URL prefixes mapped to folders, nothing else. */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".txt": "text/plain",
};

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves each folder under its prefix (`{ "/det/": dir }`); any other path is a 404. */
export async function serveFolders(folders: Readonly<Record<string, string>>): Promise<StaticServer> {
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const prefix = Object.keys(folders).find((p) => path.startsWith(p));
    const file = prefix === undefined ? undefined : normalize(join(folders[prefix]!, path.slice(prefix.length) || "index.html"));
    if (file === undefined || !file.startsWith(normalize(folders[prefix!]!))) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (bytes) => response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(bytes),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
