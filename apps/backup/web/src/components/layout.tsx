import * as DialogPrimitive from "@radix-ui/react-dialog";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import {
  Archive,
  Bell,
  CalendarClock,
  Database,
  HardDrive,
  KeyRound,
  LayoutDashboard,
  LogOut,
  Menu,
  PlusCircle,
  Siren,
  Users,
  X,
} from "lucide-react";
import { type ReactNode, useState } from "react";
import { NavLink, useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { api, messageOf } from "../lib/api.ts";
import { cn } from "../lib/cn.ts";
import { useFeatures } from "../lib/features.ts";
import { useMe } from "../lib/session.ts";
import { Button } from "./ui/button.tsx";

interface NavItem {
  to: string;
  label: string;
  icon: typeof Archive;
  admin?: boolean;
  feature?: "schedules" | "notifications" | "alerts";
}

const NAV: NavItem[] = [
  { to: "/", label: "Dashboard", icon: LayoutDashboard },
  { to: "/backups/new", label: "Manual backup", icon: PlusCircle, admin: true },
  { to: "/backups", label: "Backups", icon: Archive },
  { to: "/projects", label: "Projects", icon: Database },
  { to: "/destinations", label: "Storage destinations", icon: HardDrive },
  { to: "/schedules", label: "Schedules", icon: CalendarClock, feature: "schedules" },
  { to: "/alerts", label: "Alerts", icon: Siren, feature: "alerts" },
  { to: "/notifications", label: "Notifications", icon: Bell, feature: "notifications" },
  { to: "/tokens", label: "API tokens", icon: KeyRound },
  { to: "/users", label: "Users", icon: Users, admin: true },
];

function NavLinks({ onNavigate }: { onNavigate?: () => void }) {
  const me = useMe().data;
  const features = useFeatures();
  return (
    <ul className="grid gap-0.5">
      {NAV.filter((item) => (!item.admin || me?.role === "admin") && (!item.feature || features[item.feature])).map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            end={item.to === "/" || item.to === "/backups"}
            onClick={onNavigate}
            className={({ isActive }) =>
              cn(
                "flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium outline-none focus-visible:ring-2 focus-visible:ring-ring",
                isActive ? "bg-primary/10 text-foreground" : "text-muted-foreground hover:bg-accent hover:text-foreground",
              )
            }
          >
            <item.icon className="size-4 shrink-0" aria-hidden />
            {item.label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

function Brand() {
  return (
    <span className="flex items-center gap-2 text-base font-semibold tracking-tight">
      <span className="flex size-7 items-center justify-center rounded-md bg-primary text-primary-foreground">
        <Archive className="size-4" aria-hidden />
      </span>
      Stowage
    </span>
  );
}

function SignOut() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const me = useMe().data;
  const logout = useMutation({
    mutationFn: () => api.post("/api/auth/logout"),
    onSuccess: () => {
      queryClient.clear();
      navigate("/login");
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  return (
    <div className="grid gap-2 border-t pt-3">
      {me ? (
        <p className="truncate px-3 text-xs text-muted-foreground" title={me.email}>
          {me.email} · {me.role}
        </p>
      ) : null}
      <Button variant="ghost" className="justify-start" pending={logout.isPending} onClick={() => logout.mutate()}>
        {logout.isPending ? null : <LogOut aria-hidden />}
        Sign out
      </Button>
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="min-h-dvh lg:grid lg:grid-cols-[15rem_1fr]">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-card focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      {/* The column carries the border and background the whole page down; the sidebar itself stays in view. */}
      <div className="hidden border-r bg-card/60 lg:block">
        <aside className="sticky top-0 flex h-dvh flex-col gap-4 p-3">
          <div className="px-3 pt-2 pb-1">
            <Brand />
          </div>
          <nav aria-label="Main" className="flex-1 overflow-y-auto">
            <NavLinks />
          </nav>
          <SignOut />
        </aside>
      </div>
      <header className="sticky top-0 z-40 flex h-14 items-center justify-between border-b bg-card/95 px-3 backdrop-blur lg:hidden">
        <Brand />
        <DialogPrimitive.Root open={open} onOpenChange={setOpen}>
          <DialogPrimitive.Trigger asChild>
            <Button variant="ghost" size="icon" aria-label="Open menu">
              <Menu aria-hidden />
            </Button>
          </DialogPrimitive.Trigger>
          <DialogPrimitive.Portal>
            <DialogPrimitive.Overlay className="fixed inset-0 z-50 bg-black/50" />
            <DialogPrimitive.Content className="fixed inset-y-0 left-0 z-50 flex w-72 max-w-[85vw] flex-col gap-4 border-r bg-card p-3 shadow-lg outline-none">
              <div className="flex items-center justify-between px-3 pt-2">
                <DialogPrimitive.Title asChild>
                  <div>
                    <Brand />
                  </div>
                </DialogPrimitive.Title>
                <DialogPrimitive.Close asChild>
                  <Button variant="ghost" size="icon" aria-label="Close menu">
                    <X aria-hidden />
                  </Button>
                </DialogPrimitive.Close>
              </div>
              <DialogPrimitive.Description className="sr-only">Pages of Stowage</DialogPrimitive.Description>
              <nav aria-label="Main" className="flex-1 overflow-y-auto">
                <NavLinks onNavigate={() => setOpen(false)} />
              </nav>
              <SignOut />
            </DialogPrimitive.Content>
          </DialogPrimitive.Portal>
        </DialogPrimitive.Root>
      </header>
      <main id="main" className="mx-auto w-full max-w-6xl min-w-0 px-3 py-5 sm:px-6 lg:py-8">
        {children}
      </main>
    </div>
  );
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {description ? <p className="mt-1 text-sm text-muted-foreground">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/** Placeholder rows with the height of the real content, so nothing jumps when data arrives. */
export function Skeleton({ className }: { className?: string }) {
  return <div className={cn("animate-pulse rounded-md bg-muted", className)} aria-hidden />;
}

export function EmptyState({ icon: Icon, title, children }: { icon: typeof Archive; title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-2 rounded-xl border border-dashed px-4 py-10 text-center">
      <Icon className="size-8 text-muted-foreground" aria-hidden />
      <p className="font-medium">{title}</p>
      {children ? <div className="text-sm text-muted-foreground">{children}</div> : null}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div
      role="alert"
      className="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-destructive/40 bg-destructive/10 px-4 py-3 text-sm"
    >
      <span className="text-destructive">{messageOf(error)}</span>
      {onRetry ? (
        <Button size="sm" variant="outline" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}
