/**
 * Every relative link in README.md, docs/*.md and images/README.md leads somewhere: the file or
 * folder exists, and a `#anchor` names a heading of the target file as GitHub spells it. External
 * links (http, https, mailto) are not fetched.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";

/** GitHub's anchor for a heading: lowercase, punctuation dropped (not '-' or '_'), spaces to hyphens. */
export function slug(heading: string): string {
    return heading
        .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The anchors of a Markdown text, in order; a repeated heading gets -1, -2, ... as on GitHub. */
export function anchors(markdown: string): string[] {
    const seen = new Map<string, number>();
    return headings(markdown).map((h) => {
        const base = slug(h);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        return n === 0 ? base : `${base}-${n}`;
    });
}

/** Lines outside fenced code blocks, with their line numbers. */
function proseLines(markdown: string): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    let fence: string | undefined;
    markdown.split("\n").forEach((text, i) => {
        const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
        if (marker && (fence === undefined || marker.startsWith(fence))) {
            fence = fence === undefined ? marker : undefined;
            return;
        }
        if (fence === undefined) out.push({ line: i + 1, text });
    });
    return out;
}

function headings(markdown: string): string[] {
    return proseLines(markdown)
        .map(({ text }) => /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1])
        .filter((h): h is string => h !== undefined);
}

interface Link {
    file: string;
    line: number;
    target: string;
}

/** Inline links and images outside code; code spans are blanked so that `[x](y)` in code is no link. */
export function links(markdown: string, file: string): Link[] {
    return proseLines(markdown).flatMap(({ line, text }) => {
        const prose = text.replace(/(`+)(?:(?!\1).)+?\1/g, "code");
        return [...prose.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({ file, line, target: m[1] }));
    });
}

/** What is wrong with one link, or undefined when it resolves. */
export function problemOf(link: Link, root: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined;
    if (link.target === "") return "empty link";
    const [rawPath, anchor] = link.target.split("#", 2) as [string, string | undefined];
    const target = rawPath === "" ? link.file : path.resolve(path.dirname(link.file), decodeURIComponent(rawPath));
    const where = path.relative(root, target);
    if (where.startsWith("..") || path.isAbsolute(where)) return `${rawPath} leaves the repository`;
    if (!fs.existsSync(target)) return `${where} does not exist`;
    if (anchor === undefined) return undefined;
    if (!target.endsWith(".md") || fs.statSync(target).isDirectory()) return `#${anchor} points into ${where}, which is not a Markdown file`;
    const known = anchors(fs.readFileSync(target, "utf8"));
    return known.includes(anchor) ? undefined : `${where} has no heading #${anchor} (its anchors: ${known.join(", ")})`;
}

function documents(root: string): string[] {
    const docs = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => path.join(root, "docs", f));
    return [path.join(root, "README.md"), ...docs, path.join(root, "images", "README.md")];
}

describe("documentation links", () => {
    it("slugs headings as GitHub does", () => {
        assert.equal(slug("CI and releases"), "ci-and-releases");
        assert.equal(slug("`eks`: a managed node group on an existing cluster"), "eks-a-managed-node-group-on-an-existing-cluster");
        assert.equal(slug("Choosing a GPU: hardware video encoders"), "choosing-a-gpu-hardware-video-encoders");
        assert.equal(slug("User, home and start-up"), "user-home-and-start-up");
        assert.equal(slug("stream-probe"), "stream-probe");
        assert.equal(slug("Why Debian bookworm"), "why-debian-bookworm");
        assert.equal(slug("sessionTest"), "sessiontest");
        assert.equal(slug("snake_case and [a link](x.md)"), "snake_case-and-a-link");
        assert.deepEqual(anchors("# Images\n\n## Build\n\n```bash\n# not a heading\n```\n\n## Build\n### Build\n"), ["images", "build", "build-1", "build-2"]);
    });

    it("finds links in prose and tables, not in code", () => {
        const md = "See [a](a.md) and [`b`](b/#x).\n\n| [c](c.md) | `[no](code.md)` |\n\n```bash\necho [no](fence.md)\n```\n";
        assert.deepEqual(links(md, "/r/README.md").map((l) => l.target), ["a.md", "b/#x", "c.md"]);
    });

    it("reports a missing file, a missing anchor and a link out of the repository", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "links-"));
        try {
            fs.mkdirSync(path.join(root, "docs"));
            fs.writeFileSync(path.join(root, "docs", "a.md"), "# A\n\n## Two words\n");
            const file = path.join(root, "README.md");
            fs.writeFileSync(file, "# Title\n");
            const check = (target: string) => problemOf({ file, line: 1, target }, root);
            assert.equal(check("docs/a.md#two-words"), undefined);
            assert.equal(check("https://example.com/nowhere"), undefined);
            assert.match(check("docs/b.md") ?? "", /docs\/b\.md does not exist/);
            assert.match(check("docs/a.md#two_words") ?? "", /docs\/a\.md has no heading #two_words \(its anchors: a, two-words\)/);
            assert.equal(check("#title"), undefined);
            assert.match(check("#nowhere") ?? "", /README\.md has no heading #nowhere/);
            assert.match(check("../outside.md") ?? "", /leaves the repository/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("every relative link of README.md, docs/ and images/README.md resolves, anchors included", () => {
        const all = documents(ROOT).flatMap((f) => links(fs.readFileSync(f, "utf8"), f));
        const relative = all.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));
        assert.ok(relative.length >= 40, `only ${relative.length} relative links found: is the link pattern still right?`);
        assert.ok(relative.filter((l) => l.target.includes("#")).length >= 3, "too few #anchor links found: is the link pattern still right?");
        const broken = relative.flatMap((l) => {
            const problem = problemOf(l, ROOT);
            return problem === undefined ? [] : [`${path.relative(ROOT, l.file)}:${l.line}: (${l.target}) ${problem}`];
        });
        assert.deepEqual(broken, [], "broken links");
    });
});
