// Placeholder of the shell (issue 16): the Modeler screen is built by helper 16b, who owns this file.
import { PageContainer, PageHeader } from "../components/layout.tsx";

export function ModelerPage() {
  return (
    <PageContainer>
      <PageHeader title="Modeler" description="This screen is being built." />
    </PageContainer>
  );
}
