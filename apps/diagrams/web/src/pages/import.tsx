/**
 * @module pages/import
 * Import `.bpmn` files (`/import`): dropped on the drop zone or chosen with the file picker (the
 * keyboard way), into the personal space or a project. Each file is its own request
 * (`POST /diagrams/import`), so one bad file never stops the others; each gets its own result line
 * with the service's message.
 */
import { useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, FileUp, XCircle } from "lucide-react";
import { useId, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { PageContainer, PageHeader } from "../components/layout.tsx";
import { Button, Card, CardContent, Label } from "../components/ui.ts";
import { api, type DiagramMeta, messageOf } from "../lib/api.ts";
import { useProjects } from "../lib/queries.ts";

type Result =
  | { file: string; state: "pending" }
  | { file: string; state: "ok"; diagram: DiagramMeta }
  | { file: string; state: "error"; message: string };

const ACCEPT = ".bpmn,.bpmn2,.xml,application/xml,text/xml";

export function ImportPage() {
  const [params] = useSearchParams();
  const projects = useProjects("owned");
  const queryClient = useQueryClient();
  const [target, setTarget] = useState(params.get("project") ?? "");
  const [results, setResults] = useState<Result[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const targetId = useId();
  const owned = projects.data?.pages.flatMap((p) => p.items) ?? [];

  async function importFiles(files: File[]) {
    if (files.length === 0) return;
    const start = results.length;
    setResults((r) => [...r, ...files.map((f) => ({ file: f.name, state: "pending" as const }))]);
    await Promise.all(
      files.map(async (file, i) => {
        let result: Result;
        try {
          const form = new FormData();
          form.set("file", file, file.name);
          if (target) form.set("project_id", target);
          const { diagram } = await api.post<{ diagram: DiagramMeta }>("/diagrams/import", form);
          result = { file: file.name, state: "ok", diagram };
        } catch (error) {
          result = { file: file.name, state: "error", message: messageOf(error) };
        }
        setResults((r) => r.map((row, j) => (j === start + i ? result : row)));
      }),
    );
    void queryClient.invalidateQueries({ queryKey: ["diagrams"] });
    void queryClient.invalidateQueries({ queryKey: ["usage"] });
  }

  return (
    <PageContainer>
      <PageHeader title="Import diagrams" description="BPMN 2.0 files (.bpmn) from any modeler; each file becomes a diagram." />
      <div className="grid gap-4">
        <div className="grid max-w-sm gap-1.5">
          <Label htmlFor={targetId}>Import into</Label>
          <select
            id={targetId}
            className="h-9 rounded-md border bg-background px-2 text-sm"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          >
            <option value="">Personal space</option>
            {owned.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop zone is for the mouse; the button inside is the keyboard way */}
        <div
          data-testid="drop-zone"
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            void importFiles(Array.from(e.dataTransfer.files));
          }}
          className={`grid place-items-center gap-2 rounded-lg border-2 border-dashed p-10 text-center ${over ? "border-primary bg-accent" : "border-border"}`}
        >
          <FileUp className="size-8 text-muted-foreground" aria-hidden />
          <p className="text-sm">Drop .bpmn files here, or</p>
          <Button type="button" variant="outline" onClick={() => input.current?.click()}>
            Choose files
          </Button>
          <input
            ref={input}
            type="file"
            multiple
            accept={ACCEPT}
            className="sr-only"
            aria-label="BPMN files to import"
            onChange={(e) => {
              void importFiles(Array.from(e.target.files ?? []));
              e.target.value = "";
            }}
          />
        </div>
        {results.length ? (
          <Card>
            <CardContent className="pt-4">
              <ul aria-label="Import results" className="grid gap-2 text-sm">
                {results.map((r, i) => (
                  <li key={i} className="flex flex-wrap items-center gap-2" data-state={r.state}>
                    {r.state === "ok" ? (
                      <CheckCircle2 className="size-4 text-green-700" aria-hidden />
                    ) : r.state === "error" ? (
                      <XCircle className="size-4 text-destructive" aria-hidden />
                    ) : null}
                    <span className="font-medium">{r.file}</span>
                    {r.state === "pending" ? <span className="text-muted-foreground">importing…</span> : null}
                    {r.state === "ok" ? (
                      <span>
                        imported as{" "}
                        <Link to={`/d/${r.diagram.id}`} className="underline">
                          {r.diagram.title}
                        </Link>
                      </span>
                    ) : null}
                    {r.state === "error" ? (
                      <span className="min-w-0 text-destructive [overflow-wrap:anywhere]">{r.message}</span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </CardContent>
          </Card>
        ) : null}
      </div>
    </PageContainer>
  );
}
