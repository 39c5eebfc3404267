import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Archive, LogIn, ShieldCheck } from "lucide-react";
import { type FormEvent, type ReactNode, useState } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { ApiError, api, fieldError, formError } from "../lib/api.ts";
import type { Me } from "../lib/types.ts";

/** Whether the server still waits for its first admin. */
function useSetupStatus() {
  return useQuery({
    queryKey: ["setup-status"],
    queryFn: async (): Promise<boolean | null> => {
      try {
        const body = await api.get<Record<string, unknown>>("/api/setup");
        for (const key of ["needed", "required", "setupRequired", "needsSetup"]) {
          if (typeof body[key] === "boolean") return body[key] as boolean;
        }
        return null;
      } catch {
        return null;
      }
    },
    staleTime: 0,
  });
}

function AuthShell({ title, description, children }: { title: string; description: ReactNode; children: ReactNode }) {
  return (
    <main className="flex min-h-dvh items-start justify-center px-3 pt-[12vh] pb-10">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2 text-lg font-semibold">
          <span className="flex size-8 items-center justify-center rounded-md bg-primary text-primary-foreground">
            <Archive className="size-4" aria-hidden />
          </span>
          Stowage
        </div>
        <Card>
          <CardHeader>
            <CardTitle>
              <span className="text-xl">{title}</span>
            </CardTitle>
            <CardDescription>{description}</CardDescription>
          </CardHeader>
          <CardContent>{children}</CardContent>
        </Card>
      </div>
    </main>
  );
}

function useSignedIn() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  return async (user?: Me) => {
    if (user?.email) queryClient.setQueryData(["me"], user);
    await queryClient.invalidateQueries({ queryKey: ["me"] });
    navigate(from && from !== "/login" && from !== "/setup" ? from : "/", { replace: true });
  };
}

function pickUser(body: unknown): Me | undefined {
  if (body && typeof body === "object") {
    if ("user" in body) return (body as { user: Me }).user;
    if ("email" in body) return body as Me;
  }
  return undefined;
}

export function SetupPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const signedIn = useSignedIn();
  const navigate = useNavigate();
  const setup = useMutation({
    mutationFn: async () => {
      const body = await api.post<unknown>("/api/setup", { email, password });
      // The server may or may not sign the new admin in; make sure there is a session.
      const me = pickUser(body);
      try {
        return pickUser(await api.get<unknown>("/api/auth/me")) ?? me;
      } catch {
        return pickUser(await api.post<unknown>("/api/auth/login", { email, password }));
      }
    },
    onSuccess: async (user) => {
      toast.success("Administrator created. Welcome to Stowage.");
      await signedIn(user);
    },
    onError: (error) => {
      if (error instanceof ApiError && error.status === 409) {
        toast.info("Stowage is already set up: sign in.");
        navigate("/login", { replace: true });
      }
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setup.mutate();
  };
  const fields = ["email", "password"];
  return (
    <AuthShell title="Set up Stowage" description="Create the administrator account. You can add more users later.">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <Field label="Admin email" error={fieldError(setup.error, "email")}>
          {(p) => (
            <Input
              {...p}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password" help="At least 12 characters." error={fieldError(setup.error, "password")}>
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="new-password"
              required
              minLength={12}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <Field label="Confirm password" error={mismatch ? "The two passwords are not the same." : undefined}>
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="new-password"
              required
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
          )}
        </Field>
        <FormError error={formError(setup.error, fields)} />
        <Button type="submit" pending={setup.isPending}>
          {setup.isPending ? null : <ShieldCheck aria-hidden />}
          Create administrator
        </Button>
      </form>
    </AuthShell>
  );
}

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const signedIn = useSignedIn();
  const setupStatus = useSetupStatus();
  const login = useMutation({
    mutationFn: () => api.post<unknown>("/api/auth/login", { email, password }),
    onSuccess: (body) => signedIn(pickUser(body)),
  });
  if (setupStatus.data === true) return <Navigate to="/setup" replace />;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };
  return (
    <AuthShell title="Sign in" description="Sign in to manage your backups.">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <Field label="Email" error={fieldError(login.error, "email")}>
          {(p) => (
            <Input
              {...p}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password" error={fieldError(login.error, "password")}>
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <FormError error={formError(login.error, ["email", "password"])} />
        <Button type="submit" pending={login.isPending}>
          {login.isPending ? null : <LogIn aria-hidden />}
          Sign in
        </Button>
        {setupStatus.data === null ? (
          <p className="text-center text-xs text-muted-foreground">
            First start?{" "}
            <Link to="/setup" className="underline underline-offset-2">
              Create the administrator
            </Link>
          </p>
        ) : null}
      </form>
    </AuthShell>
  );
}
