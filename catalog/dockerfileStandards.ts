import * as fs from "fs";
import * as path from "path";
import { DockerfileParser, From, Instruction } from "dockerfile-ast";
import { HEALTHCHECK_OPTIONS, REQUIRED_LABELS, SELKIES_ENV, STANDARD_ENV, STANDARD_PORTS } from "./imageStandard";
import { REPO_ROOT, loadCatalog } from "./index";

/** The rules of the image standard a Dockerfile is checked against (images/README.md, "Image standard"). */
export const RULES = {
    "required-labels": "the final stage sets every org.opencontainers.image.* label from its OCI_* build argument",
    healthcheck: "HEALTHCHECK with the standard timings, calling a tool the image installs",
    "expose-ports": "EXPOSE of the standard ports",
    "non-root-user": "the final USER is a numeric uid other than 0 (Kubernetes runAsNonRoot can verify only numbers)",
    "standard-env": "ENV sets the standard variables to their standard defaults",
    "pinned-base": "every base image is pinned by @sha256 digest (a catalog child's BASE_IMAGE comes from the catalog)",
    "verified-downloads":
        "every remote download is verified (sha256sum --check, ADD --checksum, or, for an apt signing key, streamspace-import-signing-key with the pinned OpenPGP fingerprint)",
    "apt-cache-cleaned": "every RUN that installs with apt removes /var/lib/apt/lists/* in the same layer",
    "apt-through-placeholders":
        "once a base stands in for packages with its placeholder package, later installs use streamspace-apt-install, which installs the real package where a new one needs it",
    "arg-not-shadowed": "no build argument shares its name with an ENV already set (by the stage or its base): the ENV would win and the argument be ignored",
} as const;

/** The base's installer: `streamspace-apt-install --placeholders` installs the placeholder package. */
const APT_HELPER = "streamspace-apt-install";
const APT_INSTALL = /\bapt(-get)? install\b/;
/** Puts only the key with the given fingerprint into an apt keyring (images/selkies-base/rootfs/usr/local/sbin). */
export const SIGNING_KEY_HELPER = "streamspace-import-signing-key";
const SIGNING_KEY_IMPORT = new RegExp(`\\b${SIGNING_KEY_HELPER}\\s+\\S+\\s+[0-9A-F]{40}\\s+\\S+`);
// Commands that turn a whole key file into an apt keyring: apt would trust a key smuggled in beside the vendor's.
const WHOLE_FILE_KEY_IMPORT = /\bgpg\b[^&|;]*--dearmou?r\b|\bapt-key\s+add\b/;

export type RuleId = keyof typeof RULES;

export interface Violation {
    /** Path as given to the checker (relative to the repository root for catalog files). */
    file: string;
    /** 1-based line of the offending instruction (of the final FROM when something is missing). */
    line: number;
    rule: RuleId;
    message: string;
}

/** What a final stage provides to images built FROM it. */
export interface StageFacts {
    healthcheck?: { options: Record<string, string>; command: string };
    exposed: Set<number>;
    env: Map<string, string>;
    user?: string;
    /** Debian packages installed with apt-get install (or the base's streamspace-apt-install). */
    packages: Set<string>;
    /** The placeholder package is installed: apt would take its word for the names it provides. */
    aptPlaceholders?: boolean;
}

export interface CheckOptions {
    /** Facts of the catalog base this Dockerfile builds FROM (its BASE_IMAGE then needs no default). */
    inherited?: StageFacts;
    /** The image streams with Selkies: the Selkies variables' defaults are part of its standard. */
    selkies?: boolean;
    /**
     * A tool image (kind: tool, e.g. a probe or a TURN server) rather than a session: the session's
     * ports and screen variables do not apply; labels, health check, user and supply-chain rules do.
     */
    tool?: boolean;
    /**
     * The build context (the image's folder): a RUN that runs a script copied from it
     * (`COPY install.sh /usr/local/share/streamspace/install.sh`, then a RUN naming that path) is
     * checked with the script's text as its own.
     */
    context?: string;
}

export function formatViolation(v: Violation): string {
    return `${v.file}:${v.line}: [${v.rule}] ${v.message}`;
}

const DIGEST = /@sha256:[a-f0-9]{64}$/;
const line = (i: Instruction): number => i.getRange().start.line + 1;
const words = (text: string): string[] => text.split(/\s+/).filter((w) => w.length > 0);

/**
 * Packages named by `apt-get install` / `apt install` / `streamspace-apt-install` in a shell command
 * (flags and variables skipped).
 */
function aptPackages(command: string): string[] {
    const out: string[] = [];
    for (const segment of command.split(/&&|\|\||;|\|/)) {
        const w = words(segment);
        const apt = w.findIndex((x, i) => (x === "apt-get" || x === "apt") && w[i + 1] === "install");
        const helper = w.indexOf(APT_HELPER);
        const at = apt >= 0 ? apt + 2 : helper >= 0 ? helper + 1 : -1;
        if (at < 0) continue;
        for (const token of w.slice(at)) {
            if (token.startsWith("-") || token.includes("$") || token.includes("=")) continue;
            out.push(token.replace(/["']/g, ""));
        }
    }
    return out;
}

function argDefault(instructions: Instruction[], name: string): { found: boolean; value?: string } {
    for (const i of instructions) {
        if (i.getKeyword() !== "ARG") continue;
        const content = i.getArgumentsContent() ?? "";
        const [n, ...rest] = content.split("=");
        if (n.trim() === name) return { found: true, value: rest.length > 0 ? rest.join("=").trim().replace(/^["']|["']$/g, "") : undefined };
    }
    return { found: false };
}

/** Records a violation of one rule at a 1-based line. */
type Report = (at: number, rule: RuleId, message: string) => void;

/** What the walk over the instructions gathers from the final stage for the checks that follow it. */
interface FinalStage {
    /** Line of the final HEALTHCHECK, or of the final FROM when there is none. */
    healthcheckLine: number;
    labels: Map<string, { value: string; line: number }>;
    /** Names of the build arguments the final stage declares. */
    args: Set<string>;
}

/** Checks one Dockerfile against the standard; returns the violations and what its final stage provides. */
export function checkDockerfile(file: string, content: string, opts: CheckOptions = {}): { violations: Violation[]; facts: StageFacts } {
    const violations: Violation[] = [];
    const report: Report = (at, rule, message) => {
        violations.push({ file, line: at, rule, message });
    };
    const dockerfile = DockerfileParser.parse(content);
    const instructions = dockerfile.getInstructions();
    const froms = dockerfile.getFROMs();
    if (froms.length === 0) {
        report(1, "pinned-base", "no FROM instruction");
        return { violations, facts: { exposed: new Set(), env: new Map(), packages: new Set() } };
    }

    checkPinnedBases(froms, instructions, opts, report);

    const finalFrom = froms[froms.length - 1];
    const finalLine = line(finalFrom);
    const facts = inheritedFacts(opts);
    const final = walkInstructions(instructions, finalFrom, facts, report, opts.context);

    checkRequiredLabels(final, finalLine, report);
    checkHealthcheck(facts, final.healthcheckLine, report);
    checkExposedPorts(facts, opts, finalLine, report);
    checkNonRootUser(facts, finalLine, report);
    checkStandardEnv(facts, opts, finalLine, report);

    return { violations, facts };
}

/** pinned-base: every FROM names a digest, an earlier stage, or BASE_IMAGE (pinned default or catalog child). */
function checkPinnedBases(froms: From[], instructions: Instruction[], opts: CheckOptions, report: Report): void {
    const stages = new Set<string>();
    const initialArgs = instructions.filter((i) => i.getRange().start.line < froms[0].getRange().start.line);
    for (const from of froms) {
        const image = from.getImage() ?? "";
        const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(image)?.[1];
        if (stages.has(image) || image === "scratch") {
            // an earlier stage or the empty image: nothing to pin
        } else if (variable) {
            const arg = argDefault(initialArgs, variable);
            if (!arg.found) {
                report(line(from), "pinned-base", `FROM ${image}: ARG ${variable} is not declared before the first FROM`);
            } else if (arg.value === undefined || arg.value === "") {
                if (!(variable === "BASE_IMAGE" && opts.inherited)) {
                    report(line(from), "pinned-base", `FROM ${image}: ARG ${variable} has no default; give it a default pinned by @sha256 digest`);
                }
            } else if (!DIGEST.test(arg.value)) {
                report(line(from), "pinned-base", `FROM ${image}: the default of ARG ${variable} (${arg.value}) is not pinned by @sha256 digest`);
            }
        } else if (!DIGEST.test(image)) {
            report(line(from), "pinned-base", `FROM ${image}: not pinned by @sha256 digest`);
        }
        const stage = from.getBuildStage();
        if (stage) stages.add(stage);
    }
}

/** The final stage's facts before its own instructions: a copy of what the catalog base provides. */
function inheritedFacts(opts: CheckOptions): StageFacts {
    return {
        healthcheck: opts.inherited?.healthcheck,
        exposed: new Set(opts.inherited?.exposed ?? []),
        env: new Map(opts.inherited?.env ?? []),
        user: opts.inherited?.user,
        packages: new Set(opts.inherited?.packages ?? []),
        aptPlaceholders: opts.inherited?.aptPlaceholders,
    };
}

/**
 * Walks every instruction: checks the RUN and ADD instructions of every stage, and records what the
 * final stage (from finalFrom on) provides into facts; returns what the later checks need of it.
 */
function walkInstructions(instructions: Instruction[], finalFrom: From, facts: StageFacts, report: Report, context?: string): FinalStage {
    const finalLine = line(finalFrom);
    const finalStage = instructions.filter((i) => i.getRange().start.line >= finalFrom.getRange().start.line);
    // Per stage: whether the placeholder package is in place before the next RUN.
    let placeholders = false;
    const final: FinalStage = { healthcheckLine: finalLine, labels: new Map(), args: new Set() };
    for (const i of instructions) {
        const keyword = i.getKeyword();
        const text = i.getArgumentsContent() ?? "";
        const inFinal = finalStage.includes(i);
        if (keyword === "FROM") placeholders = line(i) === finalLine && facts.aptPlaceholders === true;
        if (keyword === "RUN") {
            const scripts = context ? scriptsRun(instructions, i).map((f) => readContextFile(context, f)) : [];
            placeholders = checkRun(i, [text, ...scripts].join("\n"), inFinal, placeholders, facts, report);
        } else if (keyword === "ADD") {
            checkAdd(i, report);
        } else if (keyword === "ARG" && inFinal) {
            checkArgNotShadowed(i, facts, report);
        }
        if (inFinal) recordFinalInstruction(i, keyword, text, facts, final);
    }
    return final;
}

/** arg-not-shadowed: an ENV of the same name, set before (here or by the base), hides the argument's value. */
function checkArgNotShadowed(i: Instruction, facts: StageFacts, report: Report): void {
    for (const arg of i.getArguments()) {
        const name = arg.getValue().split("=")[0];
        if (facts.env.has(name)) {
            report(line(i), "arg-not-shadowed", `ARG ${name}: an ENV ${name} is already set${facts.env.get(name) === undefined ? "" : ` (to '${facts.env.get(name)}')`}, and ENV wins over ARG, so the build argument would be ignored; give the argument another name`);
        }
    }
}

/**
 * The build-context files a RUN runs: those an earlier COPY of its stage put at a path the RUN
 * names (`COPY install.sh /usr/local/share/streamspace/install.sh`, `RUN ... bash
 * /usr/local/share/streamspace/install.sh`). A COPY from another stage or image does not count.
 */
export function scriptsRun(instructions: Instruction[], run: Instruction): string[] {
    const text = run.getArgumentsContent() ?? "";
    const copied = new Map<string, string>();
    for (const i of instructions) {
        if (i === run) break;
        if (i.getKeyword() === "FROM") copied.clear();
        if (i.getKeyword() !== "COPY") continue;
        const flags = (i as unknown as { getFlags(): { getName(): string }[] }).getFlags();
        const args = i.getArguments().map((a) => a.getValue());
        if (flags.some((f) => f.getName() === "from") || args.length !== 2 || args[0].endsWith("/")) continue;
        copied.set(args[1], args[0]);
    }
    return [...copied].filter(([dest]) => new RegExp(`(^|[\\s'"])${dest.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[\\s'";&|])`).test(text)).map(([, source]) => source);
}

function readContextFile(context: string, file: string): string {
    const at = path.join(context, file);
    if (!fs.existsSync(at)) throw new Error(`${at}: a RUN runs ${file} of the build context, and there is no such file`);
    return fs.readFileSync(at, "utf8");
}

/** A Dockerfile's text with the text of every script of `context` its RUNs run after it: what its builds run. */
export function dockerfileWithScripts(content: string, context: string): string {
    const instructions = DockerfileParser.parse(content).getInstructions();
    const runs = instructions.filter((i) => i.getKeyword() === "RUN");
    return [content, ...runs.flatMap((i) => scriptsRun(instructions, i).map((f) => readContextFile(context, f)))].join("\n");
}

/**
 * Checks one RUN (apt-through-placeholders, apt-cache-cleaned, verified-downloads) and records the
 * packages a RUN of the final stage installs; returns whether the placeholder package is in place after it.
 */
function checkRun(i: Instruction, text: string, inFinal: boolean, placeholders: boolean, facts: StageFacts, report: Report): boolean {
    // apt-through-placeholders: an earlier RUN of this stage (or the base) installed them.
    if (placeholders && APT_INSTALL.test(text)) {
        report(line(i), "apt-through-placeholders", `apt-get install here would take the base's placeholder package at its word and leave out libraries a new package needs; use \`${APT_HELPER} <packages>\` (images/README.md, "Adding an image")`);
    }
    if (new RegExp(`\\b${APT_HELPER}\\s+--placeholders\\b`).test(text)) {
        placeholders = true;
        if (inFinal) facts.aptPlaceholders = true;
    }
    // apt-cache-cleaned and verified-downloads apply to every stage.
    const packages = aptPackages(text);
    if (packages.length > 0 || APT_INSTALL.test(text) || text.includes(APT_HELPER)) {
        if (!/rm -rf \/var\/lib\/apt\/lists\/\*/.test(text)) {
            report(line(i), "apt-cache-cleaned", "apt installs here but the same RUN does not end with `rm -rf /var/lib/apt/lists/*`");
        }
        if (inFinal) packages.forEach((p) => facts.packages.add(p));
    }
    if (/\b(curl|wget)\b[^&|;]*\bhttps?:\/\//.test(text) || /\b(curl|wget)\b[^&|;]*\$\{?[A-Z_]*URL/.test(text)) {
        const verified = /sha256sum\s+(-c|--check)\b/.test(text) || SIGNING_KEY_IMPORT.test(text);
        if (!verified) {
            report(line(i), "verified-downloads", `downloads with curl/wget without \`sha256sum --check\` of a pinned sum (for an apt signing key: \`${SIGNING_KEY_HELPER} FILE|URL FINGERPRINT KEYRING\`)`);
        }
    }
    if (WHOLE_FILE_KEY_IMPORT.test(text)) {
        report(line(i), "verified-downloads", `imports every key of a file into a keyring, so apt would also trust any key beside the vendor's; use \`${SIGNING_KEY_HELPER} FILE|URL FINGERPRINT KEYRING\`, which keeps only the key with the published fingerprint`);
    }
    return placeholders;
}

/** verified-downloads: an ADD of a URL carries its checksum. */
function checkAdd(i: Instruction, report: Report): void {
    const remote = i.getArguments().some((a) => /^https?:\/\//.test(a.getValue()));
    const flags = (i as unknown as { getFlags(): { getName(): string }[] }).getFlags();
    if (remote && !flags.some((f) => f.getName() === "checksum")) {
        report(line(i), "verified-downloads", "ADD of a URL without --checksum=sha256:<sum>");
    }
}

/** Records what one instruction of the final stage provides: arguments, labels, ENV, ports, user, health check. */
function recordFinalInstruction(i: Instruction, keyword: string, text: string, facts: StageFacts, final: FinalStage): void {
    if (keyword === "ARG") {
        for (const a of i.getArguments()) final.args.add(a.getValue().split("=")[0]);
    } else if (keyword === "LABEL" || keyword === "ENV") {
        const props = (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties();
        for (const p of props) {
            if (keyword === "LABEL") final.labels.set(p.getName(), { value: p.getValue() ?? "", line: line(i) });
            else facts.env.set(p.getName(), p.getValue() ?? "");
        }
    } else if (keyword === "EXPOSE") {
        for (const a of i.getArguments()) {
            const port = Number(a.getValue().split("/")[0]);
            if (Number.isInteger(port)) facts.exposed.add(port);
        }
    } else if (keyword === "USER") {
        facts.user = text.trim();
    } else if (keyword === "HEALTHCHECK") {
        final.healthcheckLine = line(i);
        const flags = (i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }).getFlags();
        const options: Record<string, string> = {};
        for (const f of flags) options[f.getName()] = f.getValue() ?? "";
        const args = i.getArguments().map((a) => a.getValue());
        facts.healthcheck = args[0]?.toUpperCase() === "NONE" ? undefined : { options, command: args.slice(1).join(" ") };
    }
}

/** required-labels: set in this file's final stage, each from its declared OCI_* argument. */
function checkRequiredLabels(final: FinalStage, finalLine: number, report: Report): void {
    for (const { label, arg } of REQUIRED_LABELS) {
        const set = final.labels.get(label);
        const expected = [`\${${arg}}`, `$${arg}`];
        if (!set) {
            report(finalLine, "required-labels", `the final stage does not set the label ${label} (LABEL ${label}="\${${arg}}")`);
        } else if (!expected.includes(set.value)) {
            report(set.line, "required-labels", `label ${label} is "${set.value}"; set it from the catalog's build argument: "\${${arg}}"`);
        } else if (!final.args.has(arg)) {
            report(set.line, "required-labels", `label ${label} uses \${${arg}} but the final stage does not declare ARG ${arg}, so the label would be empty`);
        }
    }
}

/** healthcheck: present, standard timings, its tool installed. */
function checkHealthcheck(facts: StageFacts, healthcheckLine: number, report: Report): void {
    if (!facts.healthcheck) {
        report(healthcheckLine, "healthcheck", "no HEALTHCHECK (or HEALTHCHECK NONE)");
        return;
    }
    for (const [option, value] of Object.entries(HEALTHCHECK_OPTIONS)) {
        const actual = facts.healthcheck.options[option];
        if (actual !== value) {
            report(healthcheckLine, "healthcheck", `HEALTHCHECK --${option} is ${actual === undefined ? "missing" : actual}; the standard is --${option}=${value}`);
        }
    }
    const tool = words(facts.healthcheck.command)[0];
    if ((tool === "curl" || tool === "wget") && !facts.packages.has(tool)) {
        report(healthcheckLine, "healthcheck", `HEALTHCHECK calls ${tool}, which no apt-get install of this image (or its base) installs`);
    }
}

/** expose-ports: a session image exposes every standard port (a tool image none in particular). */
function checkExposedPorts(facts: StageFacts, opts: CheckOptions, finalLine: number, report: Report): void {
    const missingPorts = opts.tool ? [] : STANDARD_PORTS.filter((p) => !facts.exposed.has(p.port));
    if (missingPorts.length > 0) {
        report(finalLine, "expose-ports", `the image does not EXPOSE ${missingPorts.map((p) => `${p.port} (${p.name})`).join(", ")}`);
    }
}

/** non-root-user: the final USER is a numeric uid other than 0. */
function checkNonRootUser(facts: StageFacts, finalLine: number, report: Report): void {
    const uid = facts.user?.split(":")[0];
    if (uid === undefined) {
        report(finalLine, "non-root-user", "no USER: the image would run as root; end with USER 1000:1000");
    } else if (uid === "root" || (/^[0-9]+$/.test(uid) && Number(uid) === 0)) {
        report(finalLine, "non-root-user", `USER ${facts.user} runs the image as root; end with USER 1000:1000`);
    } else if (!/^[0-9]+$/.test(uid)) {
        report(finalLine, "non-root-user", `USER ${facts.user} is a name; use the numeric uid so Kubernetes runAsNonRoot can verify it`);
    }
}

/** standard-env: ENV sets the standard variables (and a Selkies image's Selkies variables) to their defaults. */
function checkStandardEnv(facts: StageFacts, opts: CheckOptions, finalLine: number, report: Report): void {
    const envStandard = [...(opts.tool ? [] : STANDARD_ENV), ...(opts.selkies ? SELKIES_ENV : [])].filter((e) => e.default !== undefined);
    for (const e of envStandard) {
        const actual = facts.env.get(e.name);
        if (actual !== e.default) {
            report(finalLine, "standard-env", `ENV ${e.name} is ${actual === undefined ? "not set" : `"${actual}"`}; the standard default is ${e.name}=${e.default}`);
        }
    }
}

/**
 * Checks every catalog image's Dockerfile, bases first so a child is checked with what its base
 * provides. Variants with another Dockerfile (e.g. app.kasmvnc.Dockerfile) follow their own base's
 * conventions and are left to their own tests.
 */
export function checkCatalogDockerfiles(root: string = REPO_ROOT): Violation[] {
    const catalog = loadCatalog(root);
    const factsByImage = new Map<string, StageFacts>();
    const violations: Violation[] = [];
    for (const image of catalog.images) {
        const file = path.join(image.folder, image.dockerfile);
        const inherited = "image" in image.base ? factsByImage.get(image.base.image) : undefined;
        const result = checkDockerfile(file, fs.readFileSync(path.join(root, file), "utf8"), {
            inherited,
            context: path.join(root, image.folder),
            selkies: image.streamingProtocol === "selkies",
            tool: image.kind === "tool",
        });
        factsByImage.set(image.name, result.facts);
        // A variant's facts serve the images built on it; its own Dockerfile is checked only when
        // it is the folder's standard Dockerfile (then with the variant's base), never twice.
        if (!image.variantOf || image.dockerfile === "Dockerfile") {
            for (const v of result.violations) {
                if (!violations.some((w) => formatViolation(w) === formatViolation(v))) violations.push(v);
            }
        }
    }
    return violations;
}
