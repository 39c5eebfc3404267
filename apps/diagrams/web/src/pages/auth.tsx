/**
 * @module pages/auth
 * Sign in and sign up. Local accounts (POST /auth/login, /auth/signup) when the service offers them
 * (GET /auth/config); when it runs against Supabase (JWKS_URL or Supabase's JWT_SECRET) it accepts
 * Supabase's access tokens instead: the user pastes the token their Supabase app signed them in with,
 * and it is checked with GET /auth/me before it is kept.
 */
import { KeyRound } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";
import { Brand, Skeleton } from "../components/layout.tsx";
import { Button, Card, CardContent, CardDescription, CardHeader, Field, FormError, Input, Textarea } from "../components/ui.ts";
import { messageOf } from "../lib/api.ts";
import { useAuthConfig, useLocalAuth, usePastedToken } from "../lib/queries.ts";

function useAfterSignIn() {
  const navigate = useNavigate();
  const from = (useLocation().state as { from?: string } | null)?.from;
  return () => navigate(from && from !== "/signin" && from !== "/signup" ? from : "/", { replace: true });
}

function AuthFrame({ title, description, children }: { title: string; description: string; children: React.ReactNode }) {
  return (
    <main id="main" className="mx-auto grid w-full max-w-md gap-6 px-3 py-10 sm:py-16">
      <div className="flex justify-center">
        <Brand />
      </div>
      <Card>
        <CardHeader>
          <h1 className="text-lg leading-tight font-semibold">{title}</h1>
          <CardDescription>{description}</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-5">{children}</CardContent>
      </Card>
    </main>
  );
}

function LocalForm({ mode }: { mode: "login" | "signup" }) {
  const auth = useLocalAuth(mode);
  const done = useAfterSignIn();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [tooShort, setTooShort] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === "signup" && password.length < 8) {
      setTooShort(true);
      return;
    }
    setTooShort(false);
    auth.mutate({ email, password }, { onSuccess: done });
  };
  return (
    <form className="grid gap-4" onSubmit={submit} noValidate>
      <FormError error={auth.error ? messageOf(auth.error) : null} />
      <Field label="Email">
        {(p) => (
          <Input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        )}
      </Field>
      <Field
        label="Password"
        help={mode === "signup" ? "At least 8 characters." : undefined}
        error={tooShort ? "The password needs at least 8 characters." : undefined}
      >
        {(p) => (
          <Input
            {...p}
            type="password"
            autoComplete={mode === "signup" ? "new-password" : "current-password"}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
      </Field>
      <Button type="submit" pending={auth.isPending}>
        {mode === "signup" ? "Create account" : "Sign in"}
      </Button>
    </form>
  );
}

function TokenForm() {
  const paste = usePastedToken();
  const done = useAfterSignIn();
  const [token, setToken] = useState("");
  return (
    <form
      className="grid gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        paste.mutate(token.trim().replace(/^Bearer\s+/i, ""), { onSuccess: done });
      }}
    >
      <FormError error={paste.error ? messageOf(paste.error) : null} />
      <Field
        label="Supabase access token"
        help="The access_token of your Supabase session (supabase.auth.getSession() in your app). It is kept in this browser only."
      >
        {(p) => (
          <Textarea
            {...p}
            rows={4}
            spellCheck={false}
            autoComplete="off"
            className="font-mono text-xs"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        )}
      </Field>
      <Button type="submit" variant="outline" pending={paste.isPending} disabled={!token.trim()}>
        {paste.isPending ? null : <KeyRound aria-hidden />}
        Sign in with the token
      </Button>
    </form>
  );
}

function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const config = useAuthConfig();
  const signup = mode === "signup";
  if (config.isPending) {
    return (
      <AuthFrame title={signup ? "Create your account" : "Sign in"} description="Loading…">
        <Skeleton className="h-48 w-full" />
      </AuthFrame>
    );
  }
  if (config.error) {
    return (
      <AuthFrame title={signup ? "Create your account" : "Sign in"} description="The service did not answer.">
        <FormError error={messageOf(config.error)} />
        <Button variant="outline" onClick={() => config.refetch()}>
          Try again
        </Button>
      </AuthFrame>
    );
  }
  const { local_signup, external_tokens } = config.data;
  return (
    <AuthFrame
      title={signup ? "Create your account" : "Sign in"}
      description={
        local_signup
          ? signup
            ? "Your diagrams, projects and their history, kept by this Stowage service."
            : "Welcome back. Sign in to your diagrams."
          : "This service signs people in with Supabase."
      }
    >
      {local_signup ? <LocalForm key={mode} mode={mode} /> : null}
      {local_signup ? (
        <p className="text-center text-sm text-muted-foreground">
          {signup ? "Already have an account? " : "No account yet? "}
          <Link className="font-medium text-foreground underline underline-offset-4" to={signup ? "/signin" : "/signup"}>
            {signup ? "Sign in" : "Create one"}
          </Link>
        </p>
      ) : null}
      {external_tokens ? (
        <>
          {local_signup ? <hr /> : null}
          <TokenForm />
        </>
      ) : null}
    </AuthFrame>
  );
}

export function SignInPage() {
  return <AuthPage mode="login" />;
}

export function SignUpPage() {
  return <AuthPage mode="signup" />;
}
