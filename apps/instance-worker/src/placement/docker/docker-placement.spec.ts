import { describePlacementContract, testConfig } from '../placement-backend.contract';
import { DockerPlacement } from './docker-placement';
import { createDockerClient, DockerRuntime } from './docker-runtime';

describePlacementContract('docker', async () => {
  const docker = createDockerClient();
  return {
    backend: new DockerPlacement(new DockerRuntime(docker), docker, testConfig()),
    docker,
    removeBehindBack: async (handle) => {
      await docker.getContainer(handle).remove({ force: true });
    },
  };
});
