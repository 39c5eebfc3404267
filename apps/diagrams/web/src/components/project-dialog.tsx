import { FolderPlus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { useCreateProject } from "../lib/queries.ts";
import { ProjectFields } from "./project-fields.tsx";
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

/** "New project": name and description; opens the new project when created. */
export function NewProjectDialog() {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useCreateProject();
  const navigate = useNavigate();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name, description: description.trim() || null },
      {
        onSuccess: (project) => {
          setOpen(false);
          setName("");
          setDescription("");
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
          <ProjectFields
            name={name}
            description={description}
            onNameChange={setName}
            onDescriptionChange={setDescription}
            error={create.error}
            descriptionHelp="Optional."
          />
          <DialogFooter>
            <Button type="submit" pending={create.isPending} disabled={!name.trim()}>
              Create project
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
