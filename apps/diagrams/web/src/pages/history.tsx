// Placeholder of the shell (issue 16): the History screen is built by helper 16b, who owns this file.
import { PageContainer, PageHeader } from "../components/layout.tsx";

export function HistoryPage() {
  return (
    <PageContainer>
      <PageHeader title="History" description="This screen is being built." />
    </PageContainer>
  );
}
