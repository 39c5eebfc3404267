import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Plus, Users } from "lucide-react";
import { type FormEvent, useId, useState } from "react";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../components/ui/table.tsx";
import { api, fieldError, formError, messageOf } from "../lib/api.ts";
import { formatRelative } from "../lib/format.ts";
import { itemsOf } from "../lib/queries.ts";
import { useMe } from "../lib/session.ts";
import type { User } from "../lib/types.ts";

type Role = "admin" | "viewer";

function RoleSelect({ user, disabled }: { user: User; disabled: boolean }) {
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: (role: Role) => api.patch<User>(`/api/users/${user.id}`, { role }),
    onSuccess: async (u) => {
      await queryClient.invalidateQueries({ queryKey: ["users"] });
      toast.success(`${u.email} is now ${u.role}`);
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  return (
    <Select value={user.role} onValueChange={(v) => change.mutate(v as Role)} disabled={disabled || change.isPending}>
      <SelectTrigger className="h-8 w-28" aria-label={`Role of ${user.email}`}>
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        <SelectItem value="admin">admin</SelectItem>
        <SelectItem value="viewer">viewer</SelectItem>
      </SelectContent>
    </Select>
  );
}

export function UsersPage() {
  const id = useId();
  const queryClient = useQueryClient();
  const me = useMe().data;
  const users = useQuery({ queryKey: ["users"], queryFn: async () => itemsOf<User>(await api.get("/api/users")) });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const create = useMutation({
    mutationFn: () => api.post<User>("/api/users", { email, password, role }),
    onSuccess: async (u) => {
      toast.success(`${u.email} added as ${u.role}`);
      setEmail("");
      setPassword("");
      await queryClient.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <>
      <PageHeader title="Users" description="Admins change everything; viewers see statuses and lists only." />
      <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <div>
          {users.isPending ? (
            <Skeleton className="h-40" />
          ) : users.isError ? (
            <ErrorState error={users.error} onRetry={() => users.refetch()} />
          ) : users.data.length === 0 ? (
            <EmptyState icon={Users} title="No users" />
          ) : (
            <Table label="Users">
              <THead>
                <Tr>
                  <Th>Email</Th>
                  <Th>Role</Th>
                  <Th>Last sign-in</Th>
                  <Th>
                    <span className="sr-only">Actions</span>
                  </Th>
                </Tr>
              </THead>
              <TBody>
                {users.data.map((u) => (
                  <Tr key={u.id}>
                    <Td className="font-medium break-all">
                      {u.email}
                      {u.id === me?.id ? <span className="ml-1 text-xs text-muted-foreground">(you)</span> : null}
                    </Td>
                    <Td>
                      <RoleSelect user={u} disabled={u.id === me?.id} />
                    </Td>
                    <Td className="whitespace-nowrap">{formatRelative(u.lastLoginAt)}</Td>
                    <Td className="text-right">
                      {u.id === me?.id ? null : (
                        <DeleteButton
                          title={`Remove ${u.email}?`}
                          description={<p>They are signed out and their API tokens stop working.</p>}
                          confirmLabel="Remove user"
                          path={`/api/users/${u.id}`}
                          invalidate={["users"]}
                          done={`${u.email} removed`}
                          label="Remove"
                          ariaLabel={`Remove ${u.email}`}
                        />
                      )}
                    </Td>
                  </Tr>
                ))}
              </TBody>
            </Table>
          )}
        </div>
        <Card>
          <CardHeader>
            <CardTitle>Add user</CardTitle>
            <CardDescription>Give them the password yourself; they can be removed at any time.</CardDescription>
          </CardHeader>
          <CardContent>
            <form onSubmit={submit} className="grid gap-4" noValidate>
              <Field label="Email" error={fieldError(create.error, "email")}>
                {(p) => <Input {...p} type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
              </Field>
              <Field label="Password" help="At least 12 characters." error={fieldError(create.error, "password")}>
                {(p) => (
                  <Input
                    {...p}
                    type="password"
                    autoComplete="new-password"
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                  />
                )}
              </Field>
              <div className="grid gap-1.5">
                <Label htmlFor={`${id}-role`}>Role</Label>
                <Select value={role} onValueChange={(v) => setRole(v as Role)}>
                  <SelectTrigger id={`${id}-role`}>
                    <SelectValue />
                  </SelectTrigger>
                  <SelectContent>
                    <SelectItem value="viewer">viewer (read only)</SelectItem>
                    <SelectItem value="admin">admin</SelectItem>
                  </SelectContent>
                </Select>
              </div>
              <FormError error={formError(create.error, ["email", "password", "role"])} />
              <Button type="submit" pending={create.isPending}>
                {create.isPending ? null : <Plus aria-hidden />}
                Add user
              </Button>
            </form>
          </CardContent>
        </Card>
      </div>
    </>
  );
}
