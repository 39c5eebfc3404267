import { FolderPlus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { useCreateProject } from "../lib/queries.ts";
import { ProjectFields, type ProjectText } from "./project-fields.tsx";
import {
  Button,
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "./ui.ts";

const NO_TEXT: ProjectText = { name: "", description: "" };

/** "New project": name and description; opens the new project when created. */
export function NewProjectDialog() {
  const [open, setOpen] = useState(false);
  const [fields, setFields] = useState(NO_TEXT);
  const create = useCreateProject();
  const navigate = useNavigate();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: fields.name, description: fields.description.trim() || null },
      {
        onSuccess: (project) => {
          setOpen(false);
          setFields(NO_TEXT);
          toast.success(`Project “${project.name}” created`);
          navigate(`/p/${project.id}`);
        },
      },
    );
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (!o) create.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button variant="outline">
          <FolderPlus aria-hidden />
          New project
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form className="grid gap-4" onSubmit={submit}>
          <DialogHeader>
            <DialogTitle>New project</DialogTitle>
            <DialogDescription>A project holds diagrams and files you can share with others.</DialogDescription>
          </DialogHeader>
          <ProjectFields value={fields} onChange={setFields} error={create.error} descriptionHelp="Optional." />
          <DialogFooter>
            <Button type="submit" pending={create.isPending} disabled={!fields.name.trim()}>
              Create project
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
