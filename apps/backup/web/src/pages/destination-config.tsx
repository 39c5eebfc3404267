import type { ReactNode } from "react";
import { Field } from "../components/ui/field.tsx";
import { Input, Textarea } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Switch } from "../components/ui/switch.tsx";
import { fieldError } from "../lib/api.ts";
import type { ConfigValue, DestinationType } from "../lib/types.ts";

/** The form's view of a config: strings and booleans; secrets already set are `{ set: true }`. */
export type ConfigDraft = Record<string, ConfigValue>;

interface FieldSpec {
  key: string;
  label: string;
  help?: ReactNode;
  placeholder?: string;
  kind?: "text" | "secret" | "json" | "switch" | "number";
  optional?: boolean;
}

const code = (text: string) => <code className="rounded bg-muted px-1 py-0.5 text-[0.7rem]">{text}</code>;

/** Each provider's fields, with the help users of that provider need (issue 13). */
export const CONFIG_FIELDS: Record<DestinationType, FieldSpec[]> = {
  s3: [
    {
      key: "endpoint",
      label: "Endpoint",
      optional: true,
      placeholder: "https://<account>.r2.cloudflarestorage.com",
      help: <>Leave empty for AWS S3. Cloudflare R2, MinIO and other S3-compatible servers: their URL.</>,
    },
    {
      key: "region",
      label: "Region",
      placeholder: "us-east-1",
      help: (
        <>
          Cloudflare R2 uses {code("auto")}. MinIO usually {code("us-east-1")}.
        </>
      ),
    },
    { key: "bucket", label: "Bucket", placeholder: "my-backups" },
    { key: "prefix", label: "Path prefix", optional: true, placeholder: "stowage", help: "Folder inside the bucket (optional)." },
    { key: "accessKeyId", label: "Access key ID", kind: "text" },
    { key: "secretAccessKey", label: "Secret access key", kind: "secret" },
    {
      key: "forcePathStyle",
      label: "Path-style addressing",
      kind: "switch",
      help: <>Required by MinIO and most self-hosted servers ({code("endpoint/bucket/key")} instead of a bucket subdomain).</>,
    },
  ],
  google_drive: [
    {
      key: "folderId",
      label: "Folder ID",
      placeholder: "1AbC…",
      help: <>The last part of the folder's URL ({code("drive.google.com/drive/folders/<id>")}).</>,
    },
    {
      key: "serviceAccountKey",
      label: "Service account key (JSON)",
      kind: "json",
      help: (
        <>
          Paste the key file of a Google Cloud service account. Service accounts have no storage of their own: put the folder in a{" "}
          <strong>shared drive</strong> and add the service account's {code("client_email")} to that drive as a Content manager.
        </>
      ),
    },
  ],
  nextcloud: [
    { key: "serverUrl", label: "Server URL", placeholder: "https://cloud.example.com", help: "The address of your Nextcloud." },
    { key: "username", label: "Username", help: "Your Nextcloud login name." },
    {
      key: "password",
      label: "App password",
      kind: "secret",
      help: (
        <>
          Create one in Nextcloud under <em>Settings → Security → Devices &amp; sessions</em>. Do not use your account password:
          an app password can be revoked alone and works with two-factor authentication.
        </>
      ),
    },
    { key: "basePath", label: "Folder", optional: true, placeholder: "/Backups", help: "Folder in your files where backups go." },
  ],
  local_mapped: [
    {
      key: "basePath",
      label: "Folder path",
      placeholder: "/app/backup-storage",
      help: <>An absolute path on the server: a mounted disk, NAS share or Docker volume. The server needs write access.</>,
    },
  ],
};

export const SECRET_KINDS = new Set(["secret", "json"]);

export function isSet(value: ConfigValue): boolean {
  return typeof value === "object" && value !== null && "set" in value && value.set === true;
}

/**
 * The config to send: empty optional fields left out, secrets left empty on an edit left out
 * (the server keeps them), JSON keys sent as their text (the server parses and validates them).
 */
export function configToSend(type: DestinationType, draft: ConfigDraft, editing: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of CONFIG_FIELDS[type]) {
    const value = draft[spec.key];
    const secret = SECRET_KINDS.has(spec.kind ?? "text");
    if (spec.kind === "switch") out[spec.key] = value === true;
    else if (typeof value !== "string") continue;
    else if (value.trim() !== "") out[spec.key] = secret ? value : value.trim();
    // Empty: a secret on an edit is kept by the server, an optional field is left out, a required
    // one is sent empty so that the server's error names it.
    else if (!(secret && editing) && !spec.optional) out[spec.key] = "";
  }
  return out;
}

export function ConfigFields({
  type,
  draft,
  onChange,
  error,
  idPrefix,
}: {
  type: DestinationType;
  draft: ConfigDraft;
  onChange: (next: ConfigDraft) => void;
  error: unknown;
  idPrefix: string;
}) {
  const set = (key: string, value: ConfigValue) => onChange({ ...draft, [key]: value });
  return (
    <div className="grid gap-4">
      {CONFIG_FIELDS[type].map((spec) => {
        const value = draft[spec.key];
        const err = fieldError(error, `config.${spec.key}`, spec.key);
        if (spec.kind === "switch") {
          const id = `${idPrefix}-${spec.key}`;
          return (
            <div key={spec.key} className="grid gap-1.5">
              <div className="flex items-center gap-2">
                <Switch
                  id={id}
                  checked={value === true}
                  onCheckedChange={(c) => set(spec.key, c)}
                  aria-describedby={`${id}-help`}
                />
                <Label htmlFor={id}>{spec.label}</Label>
              </div>
              <p id={`${id}-help`} className="text-xs text-muted-foreground">
                {spec.help}
              </p>
            </div>
          );
        }
        const secretSet = SECRET_KINDS.has(spec.kind ?? "text") && isSet(value);
        const text = typeof value === "string" ? value : "";
        const label = spec.optional ? (
          <>
            {spec.label} <span className="font-normal text-muted-foreground">(optional)</span>
          </>
        ) : (
          spec.label
        );
        const help = secretSet ? <>Set (not shown). Leave empty to keep it. {spec.help}</> : spec.help;
        return (
          <Field key={spec.key} label={label} help={help} error={err}>
            {(p) =>
              spec.kind === "json" ? (
                <Textarea
                  {...p}
                  spellCheck={false}
                  autoComplete="off"
                  value={text}
                  placeholder={
                    secretSet ? "•••••••• (set)" : '{ "type": "service_account", "client_email": "…", "private_key": "…" }'
                  }
                  onChange={(e) => set(spec.key, e.target.value)}
                />
              ) : (
                <Input
                  {...p}
                  type={spec.kind === "secret" ? "password" : "text"}
                  autoComplete="off"
                  spellCheck={false}
                  value={text}
                  placeholder={secretSet ? "•••••••• (set)" : spec.placeholder}
                  onChange={(e) => set(spec.key, e.target.value)}
                />
              )
            }
          </Field>
        );
      })}
    </div>
  );
}

/** A draft from a destination's (masked) config: secrets stay `{ set: true }`, the rest as text. */
export function draftFromConfig(config: Record<string, ConfigValue>): ConfigDraft {
  const draft: ConfigDraft = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "number") draft[key] = String(value);
    else draft[key] = value;
  }
  return draft;
}
