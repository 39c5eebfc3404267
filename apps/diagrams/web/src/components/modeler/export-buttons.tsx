/**
 * @module components/modeler/export-buttons
 * XML, PNG, SVG and PDF downloads of the last saved version, gated by the plan's export formats
 * (GET /usage); a format the plan does not include is shown disabled with the reason beside it.
 */
import { Download } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import { messageOf } from "../../lib/api.ts";
import { fileNameOf, saveBlob } from "../../lib/download.ts";
import { type ExportFormat, exportFile } from "../../lib/modeler-queries.ts";
import { useUsage } from "../../lib/queries.ts";
import { Button } from "../ui.ts";

const FORMATS: ExportFormat[] = ["xml", "png", "svg", "pdf"];
const EXTENSION: Record<ExportFormat, string> = { xml: "bpmn", png: "png", svg: "svg", pdf: "pdf" };

export function ExportButtons({ diagramId, title, unsaved }: { diagramId: string; title: string; unsaved: boolean }) {
  const usage = useUsage();
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const allowed = new Set(usage.data?.limits.export_formats ?? ["xml"]);
  const locked = FORMATS.filter((f) => !allowed.has(f));

  async function run(format: ExportFormat) {
    setBusy(format);
    try {
      const blob = await exportFile(diagramId, format);
      saveBlob(blob, fileNameOf(title, EXTENSION[format]));
      toast.success(`${format.toUpperCase()} export downloaded${unsaved ? " (of the last saved version)" : ""}`);
    } catch (error) {
      toast.error(`${format.toUpperCase()} export failed: ${messageOf(error)}`);
    } finally {
      setBusy(null);
    }
  }

  return (
    <fieldset className="flex flex-wrap items-center gap-1.5" aria-describedby={locked.length ? "export-reason" : undefined}>
      <legend className="sr-only">Export</legend>
      <Download className="size-4 text-muted-foreground" aria-hidden />
      {FORMATS.map((format) => (
        <Button
          key={format}
          size="sm"
          variant="outline"
          disabled={!allowed.has(format) || usage.isPending}
          pending={busy === format}
          onClick={() => void run(format)}
          aria-label={`Export ${format.toUpperCase()}`}
        >
          {format.toUpperCase()}
        </Button>
      ))}
      {locked.length && usage.data ? (
        <span id="export-reason" className="text-xs text-muted-foreground">
          {locked.map((f) => f.toUpperCase()).join(", ")} export needs a higher plan than {usage.data.plan}.
        </span>
      ) : null}
    </fieldset>
  );
}
