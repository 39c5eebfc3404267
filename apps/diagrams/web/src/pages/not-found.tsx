import { FileQuestion } from "lucide-react";
import { Link } from "react-router-dom";
import { EmptyState, PageContainer } from "../components/layout.tsx";

export function NotFoundPage() {
  return (
    <PageContainer>
      <h1 className="sr-only">Page not found</h1>
      <EmptyState icon={FileQuestion} title="There is no page here">
        <Link className="underline underline-offset-4" to="/">
          Go to Home
        </Link>
      </EmptyState>
    </PageContainer>
  );
}
