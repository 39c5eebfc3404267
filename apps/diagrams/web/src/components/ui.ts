/**
 * @module components/ui
 * The shared UI primitives (shadcn/ui-style, on Radix): the backup UI's own components, re-exported
 * so both apps look and behave alike and a fix to a primitive reaches both. Import every primitive
 * from here, never from the backup app's folder, so moving them into a package later touches this
 * one file.
 */
export { ConfirmDialog } from "../../../../backup/web/src/components/confirm.tsx";
export { Badge } from "../../../../backup/web/src/components/ui/badge.tsx";
export { Button, type ButtonProps, buttonVariants } from "../../../../backup/web/src/components/ui/button.tsx";
export { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../../backup/web/src/components/ui/card.tsx";
export { Checkbox } from "../../../../backup/web/src/components/ui/checkbox.tsx";
export {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogTitle,
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "../../../../backup/web/src/components/ui/dialog.tsx";
export { Field, type FieldControlProps, FormError } from "../../../../backup/web/src/components/ui/field.tsx";
export { Input, Textarea } from "../../../../backup/web/src/components/ui/input.tsx";
export { Label } from "../../../../backup/web/src/components/ui/label.tsx";
export {
  Select,
  SelectContent,
  SelectItem,
  SelectTrigger,
  SelectValue,
} from "../../../../backup/web/src/components/ui/select.tsx";
export { Switch } from "../../../../backup/web/src/components/ui/switch.tsx";
export { Table, TBody, Td, THead, Th, Tr } from "../../../../backup/web/src/components/ui/table.tsx";
export { cn } from "../../../../backup/web/src/lib/cn.ts";
