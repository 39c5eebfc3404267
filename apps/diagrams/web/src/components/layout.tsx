/**
 * @module components/layout
 * The app shell: a header with the brand, the main navigation and the user menu, and the page below
 * it. At phone widths the navigation moves to a second row under the header. Pages wrap their content
 * in <PageContainer> (centred, padded); the modeler renders edge to edge without it.
 */
import * as Menu from "@radix-ui/react-dropdown-menu";
import { ChevronDown, Gauge, Home, LogOut, type LucideIcon, Trash2, Workflow } from "lucide-react";
import type { ReactNode } from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router-dom";
import { messageOf } from "../lib/api.ts";
import { useMe, useSignOut } from "../lib/queries.ts";
import { Button, cn } from "./ui.ts";

interface NavItem {
  to: string;
  label: string;
  /** The label in the compact navigation of phones. */
  short: string;
  icon: LucideIcon;
}

const NAV: NavItem[] = [
  { to: "/", label: "Home", short: "Home", icon: Home },
  { to: "/trash", label: "Trash", short: "Trash", icon: Trash2 },
  { to: "/plan", label: "Plan and storage", short: "Plan", icon: Gauge },
];

function NavLinks({ className, compact = false }: { className?: string; compact?: boolean }) {
  return (
    <ul className={cn("flex items-center gap-1", className)}>
      {NAV.map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            end={item.to === "/"}
            className={({ isActive }) =>
              cn(
                "flex items-center gap-2 rounded-md px-2.5 py-1.5 text-sm font-medium whitespace-nowrap outline-none focus-visible:ring-2 focus-visible:ring-ring",
                isActive ? "bg-primary/10 text-foreground" : "text-muted-foreground hover:bg-accent hover:text-foreground",
              )
            }
          >
            <item.icon className="size-4 shrink-0" aria-hidden />
            {compact ? item.short : item.label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

export function Brand() {
  return (
    <Link
      to="/"
      className="flex items-center gap-2 rounded-md text-base font-semibold tracking-tight outline-none focus-visible:ring-2 focus-visible:ring-ring"
    >
      <span className="flex size-7 items-center justify-center rounded-md bg-primary text-primary-foreground">
        <Workflow className="size-4" aria-hidden />
      </span>
      <span>Stowage Diagrams</span>
    </Link>
  );
}

function UserMenu() {
  const me = useMe();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const email = me.data?.email ?? (me.error ? messageOf(me.error) : "…");
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <Button
          variant="ghost"
          size="sm"
          className="max-w-[11rem] gap-1.5 sm:max-w-[18rem]"
          aria-label={`Account menu (${email})`}
        >
          <span
            aria-hidden
            className="flex size-6 shrink-0 items-center justify-center rounded-full bg-secondary text-xs font-semibold uppercase"
          >
            {(me.data?.email ?? "?").slice(0, 1)}
          </span>
          <span className="hidden truncate sm:inline">{email}</span>
          <ChevronDown className="size-3.5 shrink-0" aria-hidden />
        </Button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={6}
          className="z-50 min-w-56 rounded-lg border bg-popover p-1 text-popover-foreground shadow-lg outline-none"
        >
          <Menu.Label className="px-2 py-1.5 text-sm">
            <span className="block truncate font-medium">{email}</span>
            <span className="text-xs text-muted-foreground">{me.data ? `${me.data.plan} plan` : null}</span>
          </Menu.Label>
          <Menu.Separator className="my-1 h-px bg-border" />
          <Menu.Item
            className="flex cursor-default items-center gap-2 rounded-md px-2 py-1.5 text-sm outline-none data-[highlighted]:bg-accent"
            onSelect={() => navigate("/plan")}
          >
            <Gauge className="size-4" aria-hidden /> Plan and storage
          </Menu.Item>
          <Menu.Item
            className="flex cursor-default items-center gap-2 rounded-md px-2 py-1.5 text-sm outline-none data-[highlighted]:bg-accent"
            onSelect={() => {
              signOut();
              navigate("/signin", { replace: true });
            }}
          >
            <LogOut className="size-4" aria-hidden /> Sign out
          </Menu.Item>
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}

/** The signed-in shell; the routes render into its <Outlet />. */
export function Layout() {
  return (
    <div className="flex min-h-dvh flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-card focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-card/95 backdrop-blur">
        <div className="mx-auto flex h-14 w-full max-w-6xl items-center justify-between gap-3 px-3 sm:px-6">
          <Brand />
          <nav aria-label="Main" className="hidden md:block">
            <NavLinks />
          </nav>
          <UserMenu />
        </div>
        <nav aria-label="Main (compact)" className="overflow-x-auto border-t px-2 py-1 md:hidden">
          <NavLinks compact />
        </nav>
      </header>
      <main id="main" className="flex min-w-0 flex-1 flex-col">
        <Outlet />
      </main>
    </div>
  );
}

/** The usual page frame: centred, padded, with room at the bottom. */
export function PageContainer({ children, className }: { children: ReactNode; className?: string }) {
  return <div className={cn("mx-auto w-full max-w-6xl min-w-0 px-3 py-5 sm:px-6 lg:py-8", className)}>{children}</div>;
}

export function PageHeader({ title, description, actions }: { title: ReactNode; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold tracking-tight break-words">{title}</h1>
        {description ? <p className="mt-1 text-sm text-muted-foreground">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/** A region that is loading: announced once to screen readers, skeletons inside. */
export function Loading({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <div aria-busy="true" className={className}>
      <span className="sr-only" role="status">
        {label}
      </span>
      {children}
    </div>
  );
}

// Skeleton, EmptyState and ErrorState (an API error shown as its own message, with "Try again") are the backup UI's.
export { EmptyState, ErrorState, Skeleton } from "../../../../backup/web/src/components/layout.tsx";
