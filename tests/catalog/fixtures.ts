import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A throw-away repository root holding `images/<folder>/` with the given files. */
export function fixtureCatalog(folders: Record<string, Record<string, string>>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "catalog-"));
    for (const [folder, files] of Object.entries(folders)) {
        for (const [file, content] of Object.entries(files)) {
            const full = path.join(root, "images", folder, file);
            fs.mkdirSync(path.dirname(full), { recursive: true });
            fs.writeFileSync(full, content);
        }
    }
    return root;
}

export const DIGEST = "a".repeat(64);

export const BASE_YAML = `title: Base
description: A base.
version: 1.0.0
kind: base
category: Base Images
base: { external: "docker.io/library/debian:bookworm-slim@sha256:${DIGEST}" }
platforms: [linux/amd64, linux/arm64]
ports:
  - { name: selkies, port: 8080 }
gpu: optional
streamingProtocol: selkies
`;

/** An app on the base, with a KasmVNC flavour; `extra` is appended (or replaces the variants with `variants:`). */
export function appYaml(extra = ""): string {
    return `title: App
description: An app.
version: 1.2.3
category: Tools
base: { image: base }
platforms: [linux/amd64]
ports:
  - { name: selkies, port: 8080 }
  - { name: vnc, port: 5900 }
gpu: none
streamingProtocol: selkies
tags: [tool]
${extra}`;
}

export const KASMVNC_VARIANT = `variants:
  - name: kasmvnc
    dockerfile: Dockerfile.kasmvnc
    base: { external: "lscr.io/linuxserver/baseimage-kasmvnc:debianbookworm@sha256:${DIGEST}" }
    ports:
      - { name: kasmvnc, port: 3000 }
    streamingProtocol: kasmvnc
`;

export const DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n";

/** The smallest valid catalog: a base and one app with a KasmVNC flavour. */
export function validCatalog(app: Record<string, string> = {}): string {
    return fixtureCatalog({
        base: { "image.yaml": BASE_YAML, Dockerfile: DOCKERFILE },
        app: { "image.yaml": appYaml(KASMVNC_VARIANT), Dockerfile: DOCKERFILE, "Dockerfile.kasmvnc": DOCKERFILE, ...app },
    });
}
