// Placeholder of the shell (issue 16): the Import diagrams screen is built by helper 16b, who owns this file.
import { PageContainer, PageHeader } from "../components/layout.tsx";

export function ImportPage() {
  return (
    <PageContainer>
      <PageHeader title="Import diagrams" description="This screen is being built." />
    </PageContainer>
  );
}
