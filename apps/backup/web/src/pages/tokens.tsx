import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Copy, KeyRound, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "../components/ui/dialog.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../components/ui/table.tsx";
import { api, fieldError, formError } from "../lib/api.ts";
import { formatDateTime, formatRelative } from "../lib/format.ts";
import { itemsOf } from "../lib/queries.ts";
import type { ApiToken } from "../lib/types.ts";

export function TokensPage() {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: async () => itemsOf<ApiToken>(await api.get("/api/tokens")) });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation({
    mutationFn: () => api.post<{ id: string; token: string; name?: string }>("/api/tokens", { name: name.trim() }),
    onSuccess: async (body) => {
      setCreated({ name: body.name ?? name, token: body.token });
      setName("");
      await queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
      toast.success("Token copied");
    } catch {
      toast.error("Could not copy: select the token and copy it by hand");
    }
  };
  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          <>
            For scripts and monitoring: send as{" "}
            <code className="rounded bg-muted px-1 py-0.5 text-xs">Authorization: Bearer &lt;token&gt;</code>.
          </>
        }
      />
      <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <div>
          {tokens.isPending ? (
            <Skeleton className="h-40" />
          ) : tokens.isError ? (
            <ErrorState error={tokens.error} onRetry={() => tokens.refetch()} />
          ) : tokens.data.length === 0 ? (
            <EmptyState icon={KeyRound} title="No API tokens" />
          ) : (
            <Table label="API tokens">
              <THead>
                <Tr>
                  <Th>Name</Th>
                  <Th>Created</Th>
                  <Th>Last used</Th>
                  <Th>
                    <span className="sr-only">Actions</span>
                  </Th>
                </Tr>
              </THead>
              <TBody>
                {tokens.data.map((t) => (
                  <Tr key={t.id}>
                    <Td className="font-medium">{t.name}</Td>
                    <Td className="whitespace-nowrap">{formatDateTime(t.createdAt)}</Td>
                    <Td className="whitespace-nowrap">{formatRelative(t.lastUsedAt)}</Td>
                    <Td className="text-right">
                      <DeleteButton
                        title={`Revoke ${t.name}?`}
                        description={<p>Scripts using this token stop working at once.</p>}
                        confirmLabel="Revoke token"
                        path={`/api/tokens/${t.id}`}
                        invalidate={["tokens"]}
                        done={`${t.name} revoked`}
                        label="Revoke"
                        ariaLabel={`Revoke ${t.name}`}
                      />
                    </Td>
                  </Tr>
                ))}
              </TBody>
            </Table>
          )}
        </div>
        <Card>
          <CardHeader>
            <CardTitle>New token</CardTitle>
            <CardDescription>The token is shown once, right after you create it.</CardDescription>
          </CardHeader>
          <CardContent>
            <form onSubmit={submit} className="grid gap-4" noValidate>
              <Field label="Token name" help="What uses it, e.g. “uptime monitor”." error={fieldError(create.error, "name")}>
                {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
              </Field>
              <FormError error={formError(create.error, ["name"])} />
              <Button type="submit" pending={create.isPending}>
                {create.isPending ? null : <Plus aria-hidden />}
                Create token
              </Button>
            </form>
          </CardContent>
        </Card>
      </div>
      <Dialog open={!!created} onOpenChange={(o) => !o && setCreated(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Token {created?.name} created</DialogTitle>
            <DialogDescription>Copy it now: Stowage keeps only its hash and cannot show it again.</DialogDescription>
          </DialogHeader>
          <Field label="Token">
            {(p) => (
              <Input
                {...p}
                readOnly
                value={created?.token ?? ""}
                className="font-mono text-xs"
                onFocus={(e) => e.target.select()}
              />
            )}
          </Field>
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button variant="outline" onClick={() => setCreated(null)}>
              Done
            </Button>
            <Button onClick={copy}>
              <Copy aria-hidden />
              Copy token
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </>
  );
}
