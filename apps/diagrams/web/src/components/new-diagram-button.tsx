import { Plus } from "lucide-react";
import { useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { messageOf } from "../lib/api.ts";
import { useCreateDiagram } from "../lib/queries.ts";
import { Button } from "./ui.ts";

/** Creates an empty diagram (in `projectId`, or the personal space) and opens it in the modeler. */
export function NewDiagramButton({ projectId }: { projectId?: string }) {
  const create = useCreateDiagram();
  const navigate = useNavigate();
  return (
    <Button
      pending={create.isPending}
      onClick={() =>
        create.mutate(
          { project_id: projectId ?? null },
          { onSuccess: (d) => navigate(`/d/${d.id}`), onError: (e) => toast.error(messageOf(e)) },
        )
      }
    >
      {create.isPending ? null : <Plus aria-hidden />}
      New diagram
    </Button>
  );
}
