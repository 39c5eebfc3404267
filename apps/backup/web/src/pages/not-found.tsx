import { Compass } from "lucide-react";
import { Link } from "react-router-dom";
import { EmptyState } from "../components/layout.tsx";

export function NotFoundPage() {
  return (
    <EmptyState icon={Compass} title="This page does not exist">
      <Link to="/" className="underline underline-offset-2">
        Back to the dashboard
      </Link>
    </EmptyState>
  );
}
